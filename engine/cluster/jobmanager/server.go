package jobmanager

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
)

// ServerConfig configures the job manager's listeners.
type ServerConfig struct {
	// RESTAddr and RPCAddr are the REST and gRPC listen addresses
	// (HOST:PORT; port 0 picks a free one).
	RESTAddr, RPCAddr string
	// Token, when set, is the bearer token every request but /healthz
	// must carry ("Authorization: Bearer T").
	Token string
	// TLSCert and TLSKey, both set, make gRPC and REST serve TLS.
	TLSCert, TLSKey string
	// Members, when set, serves the cluster protocol task managers join
	// through (api/cluster/v1) on the gRPC port. Its calls carry
	// ClusterSecret (when set) instead of the bearer token.
	Members       *membership.Registry
	ClusterSecret string
	// Remote, when set, serves the JobControl service the parts of job
	// attempts on remote task managers call (api/taskmanager/v1); its
	// calls carry ClusterSecret too, not the bearer token.
	Remote *RemoteRunner
	// Push, when set, serves the push tables' streams (GET
	// /v1/streams/{table}, behind Token) and the PushService remote task
	// managers publish through (behind ClusterSecret).
	Push *push.Hub
	// Handlers are extra REST routes (http.ServeMux patterns, e.g. a demo
	// page), mounted without the bearer token.
	Handlers map[string]http.Handler
	// Gatherer serves /metrics; default an empty registry.
	Gatherer prometheus.Gatherer
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Server serves a Service over gRPC and REST.
type Server struct {
	svc     *Service
	grpc    *grpc.Server
	http    *http.Server
	conn    *grpc.ClientConn
	rpcLis  net.Listener
	restLis net.Listener
	errs    chan error
}

// Start listens on the configured addresses and serves svc until
// Shutdown. The REST gateway dials the gRPC listener (on loopback when it
// listens on every interface), so the gRPC interceptors, auth included,
// apply to REST calls too.
func Start(ctx context.Context, svc *Service, cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.NewRegistry()
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, fmt.Errorf("jobmanager: TLS needs both a certificate and a key (--tls-cert and --tls-key)")
	}
	if cfg.Token == "" {
		cfg.Logger.Warn("no bearer token is set (--token or EDDY_TOKEN): the REST and gRPC APIs accept every request")
	}
	var serverTLS *tls.Config
	var clientCreds credentials.TransportCredentials = insecure.NewCredentials()
	clusterPrefixes := []string{membership.MethodPrefix, JobControlPrefix, push.MethodPrefix}
	grpcOpts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(authInterceptor(cfg.Token, clusterPrefixes...),
		membership.SecretInterceptor(cfg.ClusterSecret, clusterPrefixes...))}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("jobmanager: TLS: %w", err)
		}
		serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(serverTLS)))
		// The gateway's hop to our own gRPC port pins our certificate
		// instead of verifying a host name the certificate may not cover.
		leaf := cert.Certificate[0]
		clientCreds = credentials.NewTLS(&tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
					return errors.New("the gRPC port does not present the job manager's certificate")
				}
				return nil
			},
		})
	}
	rpcLis, err := net.Listen("tcp", cfg.RPCAddr)
	if err != nil {
		return nil, fmt.Errorf("jobmanager: --rpc-addr: %w", err)
	}
	restLis, err := net.Listen("tcp", cfg.RESTAddr)
	if err != nil {
		rpcLis.Close()
		return nil, fmt.Errorf("jobmanager: --rest-addr: %w", err)
	}
	s := &Server{svc: svc, rpcLis: rpcLis, restLis: restLis, errs: make(chan error, 2)}
	s.grpc = grpc.NewServer(grpcOpts...)
	jmv1.RegisterJobManagerServer(s.grpc, svc)
	if cfg.Members != nil {
		cfg.Members.Register(s.grpc)
	}
	if cfg.Remote != nil {
		cfg.Remote.Register(s.grpc)
	}

	s.conn, err = grpc.NewClient(dialAddr(rpcLis.Addr()), grpc.WithTransportCredentials(clientCreds))
	if err != nil {
		rpcLis.Close()
		restLis.Close()
		return nil, fmt.Errorf("jobmanager: gateway: %w", err)
	}
	gw := gwruntime.NewServeMux(
		gwruntime.WithMarshalerOption(gwruntime.MIMEWildcard, &gwruntime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		gwruntime.WithErrorHandler(errorHandler),
	)
	if err := jmv1.RegisterJobManagerHandlerClient(ctx, gw, jmv1.NewJobManagerClient(s.conn)); err != nil {
		s.conn.Close()
		rpcLis.Close()
		restLis.Close()
		return nil, fmt.Errorf("jobmanager: gateway: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("GET /metrics", requireToken(cfg.Token, promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})))
	mux.Handle("GET /v1/openapi.json", requireToken(cfg.Token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jmv1.OpenAPI)
	})))
	closeStreams := servePush(cfg, s.grpc, mux)
	mux.Handle("/", gw)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: serverTLS}
	s.http.RegisterOnShutdown(closeStreams)

	go func() { s.errs <- s.grpc.Serve(rpcLis) }()
	go func() {
		var err error
		if serverTLS != nil {
			err = s.http.ServeTLS(restLis, "", "")
		} else {
			err = s.http.Serve(restLis)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.errs <- err
	}()
	cfg.Logger.Info("job manager serving", "rest", restLis.Addr().String(), "rpc", rpcLis.Addr().String(), "tls", serverTLS != nil)
	return s, nil
}

// dialAddr is where the gateway dials the gRPC listener: loopback when it
// listens on every interface.
func dialAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ta.IP == nil || ta.IP.IsUnspecified() {
		if ta.IP.To4() == nil && ta.IP != nil {
			return net.JoinHostPort("::1", fmt.Sprint(ta.Port))
		}
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
	}
	return ta.String()
}

// RESTAddr returns the REST listener's address.
func (s *Server) RESTAddr() string { return s.restLis.Addr().String() }

// RPCAddr returns the gRPC listener's address.
func (s *Server) RPCAddr() string { return s.rpcLis.Addr().String() }

// Shutdown stops serving: the REST server gracefully (bounded by ctx),
// then gRPC. It does not stop the service's jobs (Service.Close does).
func (s *Server) Shutdown(ctx context.Context) error {
	herr := s.http.Shutdown(ctx)
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
	cerr := s.conn.Close()
	var serr error
	for range 2 {
		serr = errors.Join(serr, <-s.errs)
	}
	return errors.Join(herr, cerr, serr)
}

// checkToken reports whether authorization ("Bearer T") carries token; a
// status error says what is wrong.
func checkToken(token, authorization string) error {
	if token == "" {
		return nil
	}
	if authorization == "" {
		return status.Error(codes.Unauthenticated, "missing bearer token: send the header 'Authorization: Bearer <token>'")
	}
	got, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok {
		return status.Error(codes.Unauthenticated, "the Authorization header must be 'Bearer <token>'")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		return status.Error(codes.Unauthenticated, "wrong bearer token")
	}
	return nil
}

// authInterceptor enforces the bearer token on every unary call, from
// gRPC clients and from the gateway alike, but for the methods of the
// cluster's own services (names starting with one of cluster): task
// managers authenticate with the cluster secret instead.
func authInterceptor(token string, cluster ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		internal := false
		for _, p := range cluster {
			internal = internal || strings.HasPrefix(info.FullMethod, p)
		}
		if token != "" && !internal {
			md, _ := metadata.FromIncomingContext(ctx)
			auth := ""
			if v := md.Get("authorization"); len(v) > 0 {
				auth = v[0]
			}
			if err := checkToken(token, auth); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// requireToken guards the routes outside the gateway with the same check.
func requireToken(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkToken(token, r.Header.Get("Authorization")); err != nil {
			writeError(w, http.StatusUnauthorized, status.Convert(err))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// errorBody is the JSON body of an error response: grpc-gateway's code
// and message, plus the position of an error in submitted SQL.
type errorBody struct {
	Code    int32  `json:"code"`
	Message string `json:"message"`
	Line    int32  `json:"line,omitempty"`
	Column  int32  `json:"column,omitempty"`
}

// httpStatus maps a gRPC code to HTTP as grpc-gateway does, except
// FailedPrecondition (a request the job's state does not allow): 409.
func httpStatus(c codes.Code) int {
	if c == codes.FailedPrecondition {
		return http.StatusConflict
	}
	return gwruntime.HTTPStatusFromCode(c)
}

// errorHandler is the gateway's error handler: the status's HTTP code and
// an errorBody.
func errorHandler(ctx context.Context, mux *gwruntime.ServeMux, m gwruntime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	code := 0
	var he *gwruntime.HTTPStatusError
	if errors.As(err, &he) {
		code, err = he.HTTPStatus, he.Err
	}
	st := status.Convert(err)
	if code == 0 {
		code = httpStatus(st.Code())
	}
	writeError(w, code, st)
}

func writeError(w http.ResponseWriter, code int, st *status.Status) {
	body := errorBody{Code: int32(st.Code()), Message: st.Message()}
	for _, d := range st.Details() {
		if se, ok := d.(*jmv1.SQLError); ok {
			body.Line, body.Column, body.Message = se.GetLine(), se.GetColumn(), se.GetMessage()
		}
	}
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="eddy"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
