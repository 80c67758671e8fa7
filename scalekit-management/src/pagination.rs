//! Pages: [`PageOptions`] in, [`Page`] out, and a `Stream` over every page.

use std::collections::HashSet;
use std::future::Future;

use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ManagementError;

/// Which page to fetch: its size and the token of the page before's
/// `next_page_token` (none: the first page).
///
/// ```
/// use scalekit_management::PageOptions;
///
/// let first = PageOptions::new().page_size(20);
/// let second = first.clone().page_token("tok_2");
/// assert_eq!(second.page_size, Some(20));
/// assert_eq!(second.page_token.as_deref(), Some("tok_2"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOptions {
    /// Items per page (the platform's default when unset: 20 on most lists).
    pub page_size: Option<u32>,
    /// The `next_page_token` of the page before.
    pub page_token: Option<String>,
}

impl PageOptions {
    /// The first page, of the platform's default size.
    pub fn new() -> Self {
        PageOptions::default()
    }

    /// Items per page.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The page after the one that answered `token` as its `next_page_token`.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }

    pub(crate) fn push_query(&self, query: &mut Vec<(&'static str, String)>) {
        if let Some(size) = self.page_size {
            query.push(("page_size", size.to_string()));
        }
        if let Some(token) = self.page_token.as_deref().filter(|t| !t.is_empty()) {
            query.push(("page_token", token.to_owned()));
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// The token of the next page; `None` on the last page.
    pub next_page_token: Option<String>,
    /// The token of the previous page, when the platform sends one.
    pub prev_page_token: Option<String>,
    /// How many items the whole list holds, when the platform says.
    pub total_size: Option<u64>,
}

impl<T> Page<T> {
    /// Whether another page follows.
    pub fn has_next(&self) -> bool {
        self.next_page_token.is_some()
    }

    /// The options for the next page (same size), if there is one.
    pub fn next_page(&self, options: &PageOptions) -> Option<PageOptions> {
        self.next_page_token.as_ref().map(|token| PageOptions {
            page_size: options.page_size,
            page_token: Some(token.clone()),
        })
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// A non-empty token string, or `None`.
fn token_of(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// A count sent as a number or, as proto3 JSON does for 64-bit integers,
/// as a string.
pub(crate) fn count_of(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a list answer whose items are under `key`.
pub(crate) fn decode_page<T: DeserializeOwned>(
    bytes: &[u8],
    key: &str,
) -> Result<Page<T>, ManagementError> {
    let mut map: Map<String, Value> = crate::client::decode(bytes)?;
    let items = match map.remove(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(items) => serde_json::from_value(items).map_err(crate::client::decode_error)?,
    };
    Ok(Page {
        items,
        total_size: count_of(map.get("total_size")),
        next_page_token: token_of(map.remove("next_page_token")),
        prev_page_token: token_of(map.remove("prev_page_token")),
    })
}

/// Every item of every page, fetched one page at a time as the stream is
/// read: `fetch` gets the page token (`first` for the first page) and
/// answers the page. A token the platform answered twice ends the stream
/// with an error rather than looping.
fn paginate<T, F, Fut>(
    first: Option<String>,
    fetch: F,
) -> impl Stream<Item = Result<T, ManagementError>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, ManagementError>> + Send + 'static,
{
    struct State<F> {
        next: Option<Option<String>>,
        seen: HashSet<String>,
        fetch: F,
    }
    let mut seen = HashSet::new();
    if let Some(token) = &first {
        seen.insert(token.clone());
    }
    let state = State {
        next: Some(first),
        seen,
        fetch,
    };
    stream::try_unfold(state, |mut state| async move {
        let Some(token) = state.next.take() else {
            return Ok(None);
        };
        let page = (state.fetch)(token).await?;
        if let Some(next) = &page.next_page_token {
            if !state.seen.insert(next.clone()) {
                return Err(ManagementError::Decode(
                    "the platform answered the same page token twice".to_owned(),
                ));
            }
            state.next = Some(Some(next.clone()));
        }
        Ok(Some((page.items, state)))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// The options of a list call that pages: which page they ask for, and
/// the same options asking for another page.
pub(crate) trait PageRequest: Clone + Send + 'static {
    /// The page token they ask for (`None`: the first page).
    fn first_token(&self) -> Option<String>;
    /// The same options, asking for the page of `token`.
    fn at(&self, token: Option<String>) -> Self;
}

/// Implements [`PageRequest`] for option types with a `page_token` field.
macro_rules! page_request {
    ($($options:ty),* $(,)?) => {
        $(
            impl crate::pagination::PageRequest for $options {
                fn first_token(&self) -> Option<String> {
                    self.page_token.clone()
                }

                fn at(&self, token: Option<String>) -> Self {
                    Self {
                        page_token: token,
                        ..self.clone()
                    }
                }
            }
        )*
    };
}
pub(crate) use page_request;

page_request!(PageOptions);

/// Every item of a list, page after page from the one `options` asks for:
/// `fetch` gets a client and the options of each page and answers it. One
/// helper for every `*_stream` method.
pub(crate) fn page_stream<O, T, F, Fut>(
    client: &crate::ManagementClient,
    options: O,
    fetch: F,
) -> impl Stream<Item = Result<T, ManagementError>> + Send + 'static
where
    O: PageRequest,
    T: Send + 'static,
    F: Fn(crate::ManagementClient, O) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, ManagementError>> + Send + 'static,
{
    let client = client.clone();
    paginate(options.first_token(), move |token| {
        fetch(client.clone(), options.at(token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_read_with_its_tokens_and_total() {
        let page: Page<u32> = decode_page(
            br#"{"things":[1,2,3],"next_page_token":"n","prev_page_token":"","total_size":"250","x":1}"#,
            "things",
        )
        .unwrap();
        assert_eq!(page.items, [1, 2, 3]);
        assert_eq!(page.next_page_token.as_deref(), Some("n"));
        assert_eq!(page.prev_page_token, None);
        assert_eq!(page.total_size, Some(250));
        assert!(page.has_next());
        let options = PageOptions::new().page_size(3);
        assert_eq!(
            page.next_page(&options),
            Some(PageOptions::new().page_size(3).page_token("n"))
        );

        let last: Page<u32> =
            decode_page(br#"{"next_page_token":"","total_size":7}"#, "things").unwrap();
        assert!(last.items.is_empty());
        assert!(!last.has_next());
        assert_eq!(last.next_page(&options), None);
        assert_eq!(last.total_size, Some(7));

        let err = decode_page::<u32>(br#"{"things":["a"]}"#, "things").unwrap_err();
        assert!(matches!(err, ManagementError::Decode(_)));
        let err = decode_page::<u32>(b"[]", "things").unwrap_err();
        assert!(matches!(err, ManagementError::Decode(_)));
    }

    #[test]
    fn page_options_become_query_parameters() {
        let mut query = Vec::new();
        PageOptions::new().push_query(&mut query);
        assert!(query.is_empty());
        PageOptions::new()
            .page_size(5)
            .page_token("abc")
            .push_query(&mut query);
        assert_eq!(
            query,
            [
                ("page_size", "5".to_owned()),
                ("page_token", "abc".to_owned())
            ]
        );
        let mut query = Vec::new();
        PageOptions::new().page_token("").push_query(&mut query);
        assert!(query.is_empty());
    }

    fn pages(
        n: u32,
        size: u32,
    ) -> impl FnMut(Option<String>) -> std::future::Ready<Result<Page<u32>, ManagementError>> {
        move |token| {
            let start: u32 = token.map_or(0, |t| t.parse().unwrap());
            let end = (start + size).min(n);
            std::future::ready(Ok(Page {
                items: (start..end).collect(),
                next_page_token: (end < n).then(|| end.to_string()),
                prev_page_token: None,
                total_size: Some(u64::from(n)),
            }))
        }
    }

    #[tokio::test]
    async fn the_stream_yields_every_item_of_every_page_once() {
        let all: Vec<u32> = paginate(None, pages(53, 10)).try_collect().await.unwrap();
        assert_eq!(all, (0..53).collect::<Vec<_>>());
        let from_third: Vec<u32> = paginate(Some("20".into()), pages(53, 10))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(from_third, (20..53).collect::<Vec<_>>());
        let none: Vec<u32> = paginate(None, pages(0, 10)).try_collect().await.unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn a_repeated_token_ends_the_stream_with_an_error() {
        let looping = |_token: Option<String>| {
            std::future::ready(Ok(Page {
                items: vec![1u32],
                next_page_token: Some("again".to_owned()),
                prev_page_token: None,
                total_size: None,
            }))
        };
        let results: Vec<Result<u32, ManagementError>> = paginate(None, looping).collect().await;
        // The first page, then the error instead of the page that repeated
        // the token.
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(ManagementError::Decode(_))));
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_after_the_items_before_it() {
        let mut calls = 0;
        let failing = move |_token: Option<String>| {
            calls += 1;
            std::future::ready(if calls == 1 {
                Ok(Page {
                    items: vec![1u32, 2],
                    next_page_token: Some("2".to_owned()),
                    prev_page_token: None,
                    total_size: None,
                })
            } else {
                Err(ManagementError::Timeout)
            })
        };
        let results: Vec<Result<u32, ManagementError>> = paginate(None, failing).collect().await;
        assert_eq!(results, [Ok(1), Ok(2), Err(ManagementError::Timeout)]);
    }
}
