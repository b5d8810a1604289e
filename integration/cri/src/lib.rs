//! What the CRI test and cri-ctl share: the gRPC channel to containerd.

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

/// A gRPC channel over the unix socket `sock`.
pub async fn connect(sock: &str) -> Result<Channel, String> {
    let sock = sock.to_string();
    // The URI is required by tonic but unused: every connection is the socket.
    Endpoint::try_from("http://[::]:50051")
        .map_err(|e| e.to_string())?
        .connect_with_connector(service_fn(move |_: Uri| {
            let sock = sock.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(sock).await?)) }
        }))
        .await
        .map_err(|e| format!("connect: {e:?}"))
}
