module github.com/quirehq/quire

go 1.26.8

require (
	github.com/golang-jwt/jwt/v5 v5.2.2
	github.com/google/uuid v1.6.0
	github.com/gorilla/websocket v1.5.0
	github.com/olahol/melody v1.4.0
	go.etcd.io/bbolt v1.4.3
	golang.org/x/time v0.16.0
)

require golang.org/x/sys v0.29.0 // indirect
