//! Storing categories as documents of the state store (kind `category`, keyed by id):
//! created with a fresh random id by compare-and-set, read and listed per partner.

use crate::model::category::Category;
use crate::model::now_secs;

use super::{Error, Result, UploadService};

const KIND: &str = "category";

/// A random category id (Kaltura's are positive 32-bit integers).
fn new_category_id() -> i64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    i64::from(u32::from_le_bytes(b) % 900_000_000) + 100_000_000
}

impl UploadService {
    /// Stores a new category (its id, times and path are set here) and returns it.
    pub async fn create_category(
        &self,
        mut c: Category,
        parent: Option<&Category>,
    ) -> Result<Category> {
        let now = now_secs();
        (c.created_at, c.updated_at) = (now, now);
        for _ in 0..8 {
            c.id = new_category_id();
            (c.full_name, c.full_ids, c.depth, c.parent_id) = match parent {
                Some(p) => (
                    format!("{}>{}", p.full_name, c.name),
                    format!("{}>{}", p.full_ids, c.id),
                    p.depth + 1,
                    p.id,
                ),
                None => (c.name.clone(), c.id.to_string(), 0, 0),
            };
            if self.insert_typed(KIND, &c.id.to_string(), &c).await? {
                return Ok(c);
            }
        }
        Err(Error::Internal("no free category id".into()))
    }

    /// A category of `partner` (another partner's is `None`, like a missing one).
    pub async fn get_category(&self, partner: i64, id: i64) -> Result<Option<Category>> {
        Ok(self
            .read_typed::<Category>(KIND, &id.to_string())
            .await?
            .filter(|c| c.partner == partner))
    }

    /// Every category of `partner`, by id.
    pub async fn list_categories(&self, partner: i64) -> Result<Vec<Category>> {
        let mut out = self
            .list_typed(KIND, |c: &Category| c.partner == partner)
            .await?;
        out.sort_by_key(|c| c.id);
        Ok(out)
    }
}
