//! `GET /files/{id}`: download a completed upload, whole or one `Range`, as an
//! attachment named by the client's `filename` metadata.

use super::{FilesApi, FilesError};
use crate::api::download::{self, Download};
use crate::server::Resp;

pub async fn handle(api: &FilesApi, id: &str, range: Option<&str>) -> Result<Resp, FilesError> {
    let rec = api.service.status(id).await?;
    let name = download::metadata_file_name(&rec.metadata);
    match download::serve(
        &api.service,
        &rec,
        range,
        name.as_deref(),
        "application/octet-stream",
    )
    .await
    {
        Ok(r) => Ok(r),
        Err(Download::Core(e)) => Err(e.into()),
        Err(Download::Unsatisfiable { len }) => Err(FilesError::RangeNotSatisfiable { len }),
    }
}
