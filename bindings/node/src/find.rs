//! Finding and listing ports: `port4me`, `port4meAsync` and `list`.

use napi::bindgen_prelude::{AsyncTask, Env, Uint16Array};
use napi::Task;
use napi_derive::napi;

use crate::errors::{catch, guard, Failure};

use crate::options::{Options, Query};
use crate::registry::Reservation;

/// Finds the port for a checked query: `PORT4ME_PORT` when `port4me run`
/// gave one (it holds that port for this process already), else a plain
/// `find`, or, with `reserve`, the registry's reserving find.
fn find_port(q: Query, reservation: Option<&Reservation>) -> Result<u16, Failure> {
    let p = q.build();
    if let Some(port) = p.given_port()? {
        return Ok(port);
    }
    match reservation {
        Some(r) => r.reserve(&p),
        None => Ok(p.find()?),
    }
}

/// The first free port of the sequence for `tool` with everything else from
/// the environment. The fast path of `port4me("vite")`: no options object to
/// convert.
#[napi(js_name = "findTool")]
pub fn find_tool(tool: Option<String>) -> napi::Result<u32, String> {
    guard(|| Ok(find_port(Query::tool(tool), None)? as u32))
}

/// The first free port for these options (with `reserve`: not held in the
/// registry either, and then leased there).
#[napi]
pub fn find(env: Env, options: Option<Options>) -> napi::Result<u32, String> {
    guard(|| {
        let q = Query::from_options(options.unwrap_or_default())?;
        let reservation = Reservation::for_query(&env, &q)?;
        Ok(find_port(q, reservation.as_ref())? as u32)
    })
}

/// `find` on the libuv thread pool. Holds the checked query, or the failure
/// to reject with when the options were bad (so the caller always gets a
/// promise, never a synchronous throw).
pub struct FindTask {
    query: Option<Result<(Query, Option<Reservation>), Failure>>,
}

impl Task for FindTask {
    type Output = Result<u16, Failure>;
    type JsValue = u32;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let query = self.query.take();
        // napi-rs does not catch panics on the pool thread; `catch` does.
        Ok(catch(|| {
            let (q, reservation) =
                query.unwrap_or_else(|| Err(Failure::new(crate::errors::ERR_INTERNAL, "task ran twice")))?;
            find_port(q, reservation.as_ref())
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<u32> {
        output.map(u32::from).map_err(|f| f.into_rejection(env))
    }
}

/// The first free port for these options, as a promise computed on the libuv
/// thread pool.
#[napi(js_name = "findAsync", ts_return_type = "Promise<number>")]
pub fn find_async(env: Env, options: Option<Options>) -> AsyncTask<FindTask> {
    let query = catch(|| {
        let mut q = Query::from_options(options.unwrap_or_default())?;
        // Read the environment now, on the JS thread (the registry's default
        // path depends on it too).
        let reservation = Reservation::for_query(&env, &q)?;
        q.snapshot_env();
        Ok((q, reservation))
    });
    AsyncTask::new(FindTask { query: Some(query) })
}

fn list_ports(options: Option<Options>) -> Result<Vec<u16>, Failure> {
    let q = Query::from_options(options.unwrap_or_default())?;
    let n = q.options.n;
    Ok(q.build().list_or_env(n)?)
}

/// The first `n` candidates (no probing). `n` defaults to `PORT4ME_LIST`,
/// else 1.
#[napi]
pub fn list(options: Option<Options>) -> napi::Result<Vec<u32>, String> {
    guard(|| Ok(list_ports(options)?.into_iter().map(u32::from).collect()))
}

/// [`list`] as a `Uint16Array` (one buffer handed over, instead of one
/// `napi_set_element` per port): the JS layer uses it for long lists.
#[napi(js_name = "listTyped")]
pub fn list_typed(options: Option<Options>) -> napi::Result<Uint16Array, String> {
    guard(|| Ok(Uint16Array::new(list_ports(options)?)))
}
