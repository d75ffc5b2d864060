// Package static serves the browser side of Quire: the document list, the
// collaborative editor and the files they load. The binary mounts Handler
// at "/" next to the sync server's "/ws/".
//
// # Routes
//
//   - GET /            the document list (recent documents, new, open by name)
//   - GET /new         303 to the editor of a new document named by a random UUID
//   - GET /d/<name>    the editor of the document <name>, percent-encoded in
//     one path segment ("a/b c" is /d/a%2Fb%20c); the page reads the name
//     from its own URL and connects to /ws/<the same encoding>
//   - GET /assets/...  the JavaScript and CSS bundle written by `npm run build`
//   - GET /sw.js       the service worker that lets the pages load offline
//
// # Files
//
// The pages (public/) are ours and committed. The bundle (dist/) is built
// from src/ and the pinned npm packages by build.mjs with esbuild and is
// not committed; dist/ holds only a placeholder until the first build, so
// that the package compiles before it. Without a bundle the pages answer
// 503 with instructions to build it.
//
// # Concurrency
//
// A Handler only reads immutable files and is safe for concurrent use.
package static
