//! The value model of API v3 answers: typed Kaltura objects with ordered properties,
//! arrays, scalars, and the `KalturaAPIException` error. Serialized by
//! [`super::format`] into JSON (1), XML (2), PHP `serialize()` (3) and JSONP (9).

/// One value of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    Object(Object),
    Error(ApiError),
}

/// A Kaltura object: class name and properties in declaration order. Null properties
/// are omitted in JSON and PHP, and written as empty elements in XML (unless
/// `ignoreNull`).
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub class: String,
    pub props: Vec<(String, Value)>,
}

impl Object {
    pub fn new(class: &str) -> Self {
        Self {
            class: class.to_owned(),
            props: Vec::new(),
        }
    }

    /// Adds a property (builder style).
    pub fn with(mut self, name: &str, v: impl Into<Value>) -> Self {
        self.props.push((name.to_owned(), v.into()));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.props.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// `KalturaAPIException`: code, message with arguments substituted, ordered args.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub args: Vec<(String, String)>,
}

impl ApiError {
    /// True when this is the exception `code`.
    pub fn is(&self, code: super::errors::ErrorCode) -> bool {
        self.code == code.name()
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Object> for Value {
    fn from(v: Object) -> Self {
        Value::Object(v)
    }
}
impl From<ApiError> for Value {
    fn from(v: ApiError) -> Self {
        Value::Error(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
