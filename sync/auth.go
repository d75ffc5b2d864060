package sync

import (
	"errors"
	"net/http"
	"time"

	"github.com/quirehq/quire/auth"
	"github.com/quirehq/quire/crdt/lib0"
)

// Authorizer decides, before the WebSocket upgrade, whether a handshake
// request may open document doc and what it may do there. It is declared
// here, where it is consumed; auth/jwt implements it with JSON Web Tokens.
//
// A refusal should be an *auth.Error: the client gets its Status and
// Reason. Any other error is answered 401 "unauthorized". Implementations
// must be safe for concurrent use.
type Authorizer interface {
	Authorize(r *http.Request, doc string) (auth.Grant, error)
}

// openGrant is what every connection gets when no Authorizer is
// configured: the server is open.
var openGrant = auth.Grant{Permission: auth.Write}

// Close code and reason of a connection whose grant expired while it was
// open: 4401 mirrors HTTP 401 in the private-use range (4000–4999), as
// other Yjs servers do. The client must fetch a new token to reconnect.
const (
	closeTokenExpired  = 4401
	reasonTokenExpired = "token expired"
)

// reasonReadOnly is the reason of the permission-denied message a
// read-only connection gets for each update it sends.
const reasonReadOnly = "read-only: updates are not accepted"

// authAnswer writes the HTTP answer to a refused handshake.
func authAnswer(w http.ResponseWriter, err error) (status int, reason string) {
	var ae *auth.Error
	status, reason = http.StatusUnauthorized, "unauthorized"
	if errors.As(err, &ae) {
		status, reason = ae.Status, ae.Reason
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="quire"`)
	}
	http.Error(w, reason, status)
	return status, reason
}

// authorize runs the Authorizer of the server, if any, for a handshake.
func (s *Server) authorize(r *http.Request, doc string) (auth.Grant, error) {
	if s.authz == nil {
		return openGrant, nil
	}
	return s.authz.Authorize(r, doc)
}

// watchExpiry closes c with 4401 when its grant expires. Called once
// joined; stopExpiry cancels it when the connection ends.
func (c *conn) watchExpiry() {
	if c.grant.Expires.IsZero() {
		return
	}
	c.expiry = time.AfterFunc(time.Until(c.grant.Expires), func() {
		if c.close(closeTokenExpired, reasonTokenExpired) {
			c.log.Info("closed: token expired")
		}
	})
}

func (c *conn) stopExpiry() {
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// refuseWrite answers a sync step 2 or update from a read-only connection:
// the message is dropped (it never reaches the document, the store or the
// other members), counted, and answered with y-protocols' permission-denied
// auth message, which y-websocket reports on the console.
func (c *conn) refuseWrite() {
	c.srv.readOnlyRefused.Add(1)
	c.log.Debug("refused an update from a read-only connection")
	c.reply(permissionDeniedFrame)
}

// permissionDeniedMessage is y-protocols' auth message: [messageAuth,
// varuint 0 (permission denied), varstring reason].
var permissionDeniedMessage = encodePermissionDenied(reasonReadOnly)

func encodePermissionDenied(reason string) []byte {
	e := lib0.NewEncoder(len(reason) + 4)
	e.WriteVarUint(messageAuth)
	e.WriteVarUint(0)
	e.WriteVarString(reason)
	return e.Bytes()
}
