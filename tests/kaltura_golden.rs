//! Golden files for the API v3 serializers (formats 1 JSON, 2 XML, 3 PHP, 9 JSONP): a
//! token, a list, an entry, void and errors. The token, list, void and error files are
//! the spec's own examples (§2, §4.2, §4.3, §5.1) byte for byte; the entry files were
//! reviewed against §7.4. Set `UPGATE_BLESS=1` to write a missing golden file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use upgate::api::kaltura::objects::{attr, entry, list, token};
use upgate::core::{Owner, Status, UploadRecord};
use upgate::model::core_attr;
use upgate::model::entry::{EntryStatus, MediaEntry};
use upgate_proto::kaltura::errors::{api_error, ErrorCode};
use upgate_proto::kaltura::format::{envelope, Format, Options};
use upgate_proto::kaltura::value::Value;

fn golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(want) => assert_eq!(got, want, "golden file {name}"),
        Err(_) if std::env::var_os("UPGATE_BLESS").is_some() => std::fs::write(&path, got).unwrap(),
        Err(e) => panic!("missing golden file {name}: {e}"),
    }
}

fn opts(t: f64) -> Options {
    Options {
        ignore_null: false,
        callback: "cb".into(),
        execution_time: t,
    }
}

fn spec_token(status: Status, offset: u64, updated: &str) -> UploadRecord {
    let mut attrs = BTreeMap::new();
    attrs.insert(attr::TOKEN.to_owned(), "1".to_owned());
    attrs.insert(attr::FILE_NAME.to_owned(), "lecture.mp4".to_owned());
    attrs.insert(attr::FILE_SIZE.to_owned(), "10485760".to_owned());
    attrs.insert(core_attr::TOUCHED.to_owned(), updated.to_owned());
    UploadRecord {
        id: "0_5d41402abc4b2a76b9719d911017c592".into(),
        length: None,
        offset,
        status,
        metadata: String::new(),
        concat: Default::default(),
        created_at: 1_700_000_000,
        expires_at: 0,
        ranges: vec![],
        assembly: String::new(),
        owner: Some(Owner {
            partner: 12345,
            user: "testuser@example.com".into(),
        }),
        attrs,
    }
}

#[test]
fn token_in_every_format() {
    let t = token(&spec_token(Status::Open, 5_242_880, "1700000100"));
    golden("token.1.txt", &envelope(&t, Format::Json, &opts(0.0)));
    golden("token.2.txt", &envelope(&t, Format::Xml, &opts(0.0123)));
    golden("token.3.txt", &envelope(&t, Format::Php, &opts(0.0)));
    let jsonp = Options {
        callback: "cb.x_1".into(),
        ..opts(0.0)
    };
    golden("token.9.txt", &envelope(&t, Format::Jsonp, &jsonp));
}

#[test]
fn lists() {
    let full = token(&spec_token(Status::Complete, 10_485_760, "1700000200"));
    let l = list("KalturaUploadTokenListResponse", vec![full], 1);
    golden("list.1.txt", &envelope(&l, Format::Json, &opts(0.0)));
    let empty = list("KalturaUploadTokenListResponse", vec![], 0);
    golden(
        "list_empty.1.txt",
        &envelope(&empty, Format::Json, &opts(0.0)),
    );
    golden(
        "list_empty.2.txt",
        &envelope(&empty, Format::Xml, &opts(0.01)),
    );
}

#[test]
fn void_and_errors() {
    for (f, ext) in [
        (Format::Json, 1),
        (Format::Xml, 2),
        (Format::Php, 3),
        (Format::Jsonp, 9),
    ] {
        golden(
            &format!("void.{ext}.txt"),
            &envelope(&Value::Null, f, &opts(0.01)),
        );
    }
    let missing = Value::Error(api_error(
        ErrorCode::MissingMandatoryParameter,
        &["uploadTokenId"],
    ));
    golden(
        "error_missing.2.txt",
        &envelope(&missing, Format::Xml, &opts(0.002338171005249)),
    );
    golden(
        "error_missing.1.txt",
        &envelope(&missing, Format::Json, &opts(0.0)),
    );
    let nf = Value::Error(api_error(ErrorCode::UploadTokenNotFound, &[]));
    golden(
        "error_notfound.3.txt",
        &envelope(&nf, Format::Php, &opts(0.0)),
    );
    golden(
        "error_notfound.1.txt",
        &envelope(&nf, Format::Json, &opts(0.0)),
    );
}

#[test]
fn entry_in_every_format() {
    let e = MediaEntry {
        id: "0_x7k2m9qa".into(),
        partner: 12345,
        user: "testuser@example.com".into(),
        creator: "testuser@example.com".into(),
        name: "Lecture 1 / Intro".into(),
        description: "Week <1> & \"more\"".into(),
        tags: "physics,week1".into(),
        media_type: 1,
        status: EntryStatus::Ready,
        upload_id: Some("0_5d41402abc4b2a76b9719d911017c592".into()),
        size: Some(10_485_760),
        file_name: Some("lecture.mp4".into()),
        partner_data: None,
        reference_id: None,
        categories: None,
        categories_ids: None,
        admin_tags: None,
        user_entered_title: None,
        entitled_users_edit: Vec::new(),
        entitled_users_publish: Vec::new(),
        import_error: None,
        created_at: 1_700_000_000,
        updated_at: 1_700_000_300,
    };
    let v = entry(&e, "http://gw.example", None);
    golden("entry.1.txt", &envelope(&v, Format::Json, &opts(0.0)));
    golden("entry.2.txt", &envelope(&v, Format::Xml, &opts(0.01)));
    golden("entry.3.txt", &envelope(&v, Format::Php, &opts(0.0)));
    golden("entry.9.txt", &envelope(&v, Format::Jsonp, &opts(0.0)));
}
