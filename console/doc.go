// Package console is ecstore's web console: a small single-page application
// (plain HTML, JavaScript and CSS embedded in the binary with go:embed, no
// build step) and the JSON API behind it, both served by every gateway under
// /console. A user logs in with an access key and its secret, browses
// buckets and objects, uploads (streamed straight into the ObjectLayer),
// downloads and deletes, and watches cluster health: every drive with its
// node, state and capacity, heal and rebalance progress.
//
// The console works on s3api.ObjectLayer for buckets and objects; health
// comes from the optional Health interface (which *gateway.Layer
// implements), found by type assertion.
//
// Sessions: a login checks the key pair in constant time and sets a random
// 32-byte token as an HttpOnly, SameSite=Strict cookie (Secure over TLS),
// kept in memory for 12 hours; a restart logs everyone out. Every API call
// needs the cookie, and every state-changing call (POST, PUT, DELETE) also
// needs the header X-Ecstore-Console: 1, which a cross-site form cannot
// send. Secrets are never logged. Logins are throttled per client address
// (an IPv4 address or an IPv6 /64): after 5 attempts without a success each
// further one waits twice as long as the last (1 s, 2 s, ... up to 5
// minutes), and one made too early answers 429 with Retry-After without its
// credentials being checked; the table of clients is bounded.
//
// Sharing the S3 port: "console" is a valid bucket name, so Mount hands a
// request under /console to the console only when it carries no S3
// authentication (no Authorization header, no X-Amz-Credential,
// X-Amz-Signature or AWSAccessKeyId query parameter) and is not a browser
// POST Object form (multipart/form-data). Such a request can never be a
// valid S3 request, since ecstore allows no anonymous access; every signed
// request to a bucket named "console" still reaches S3.
//
// The console must never import the storage packages below the gateway
// (storagenode, ec, placement) other than through the gateway's value
// types: it sees storage only through ObjectLayer and Health. It serves HTTP
// with net/http alone, so it must never import gin or the S3 front end
// (s3compat), even transitively (a test over `go list -deps` enforces
// both).
package console
