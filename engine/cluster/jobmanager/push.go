package jobmanager

import (
	"net/http"

	"google.golang.org/grpc"

	"github.com/eddy-streaming/eddy/connectors/push"
)

// StreamsRoute is the REST route of the push tables' streams.
const StreamsRoute = "GET /v1/streams/{table}"

// servePush serves cfg.Push, when set: its PushService on the gRPC server
// (for remote task managers' writers, behind the cluster secret) and its
// streams at StreamsRoute on the REST mux (behind the bearer token, which
// may come as ?access_token= since EventSource and WebSocket clients
// cannot set headers). It returns what ends the open streams at shutdown.
// cfg.Handlers are mounted as they are.
func servePush(cfg ServerConfig, srv *grpc.Server, mux *http.ServeMux) (closeStreams func()) {
	for pattern, h := range cfg.Handlers {
		mux.Handle(pattern, h)
	}
	if cfg.Push == nil {
		return func() {}
	}
	cfg.Push.Register(srv)
	h := push.NewHandler(cfg.Push, push.HandlerOptions{Logger: cfg.Logger})
	mux.Handle(StreamsRoute, queryToken(requireToken(cfg.Token, h)))
	return h.Close
}

// queryToken turns ?access_token=T into the header "Authorization: Bearer
// T" when the request has no Authorization header.
func queryToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("access_token"); tok != "" && r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		h.ServeHTTP(w, r)
	})
}
