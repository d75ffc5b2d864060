package sync

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pathPrefix is where the Server expects to be mounted. ServeHTTP reads the
// document name from the request's full path, so the handler must be
// mounted with http.ServeMux's "/ws/" pattern, not behind http.StripPrefix.
const pathPrefix = "/ws/"

// maxNameBytes bounds document names: they become storage keys and appear
// in logs.
const maxNameBytes = 255

// docName returns the document a request asks for: the percent-decoded
// rest of the path after /ws/. It works on the escaped path so that a name
// may contain an encoded slash ("a%2Fb" is the document "a/b"), the way a
// client that encodes its room name expects. The query string, where
// y-websocket puts its params, is not part of the name, with one
// exception: a request for /ws/ itself names its document in the query
// parameter "name". Browsers resolve the path segments "." and ".." (also
// percent-encoded) before a request leaves them, so the documents "." and
// ".." can only be reached that way.
func docName(u *url.URL) (string, error) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), pathPrefix)
	if !ok {
		return "", errNotWebSocketPath
	}
	if rest == "" {
		name := u.Query().Get("name")
		if err := checkName(name); err != nil {
			return "", err
		}
		return name, nil
	}
	name, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errInvalidName, err)
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	return name, nil
}

// checkName reports whether name is 1–255 bytes of valid UTF-8 without
// control characters (C0, DEL, C1): those would corrupt log lines and are
// never meant in a name.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", errInvalidName)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", errInvalidName, len(name), maxNameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not valid UTF-8", errInvalidName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %U", errInvalidName, r)
		}
	}
	return nil
}
