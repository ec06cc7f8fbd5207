package membership

import (
	"context"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// SecretMetadata is the gRPC metadata key that carries the cluster secret.
const SecretMetadata = "x-eddy-cluster-secret"

// SecretInterceptor rejects, with codes.Unauthenticated, calls of the
// methods whose full names start with one of prefixes (e.g.
// "/eddy.cluster.v1.Cluster/") that do not carry secret. Other methods
// pass. An empty secret admits every call.
func SecretInterceptor(secret string, prefixes ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := checkSecret(ctx, secret, info.FullMethod, prefixes); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// SecretStreamInterceptor is SecretInterceptor for streaming methods.
func SecretStreamInterceptor(secret string, prefixes ...string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := checkSecret(ss.Context(), secret, info.FullMethod, prefixes); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

func checkSecret(ctx context.Context, secret, method string, prefixes []string) error {
	if secret == "" {
		return nil
	}
	guarded := false
	for _, p := range prefixes {
		guarded = guarded || strings.HasPrefix(method, p)
	}
	if !guarded {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, got := range md.Get(SecretMetadata) {
		if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) == 1 {
			return nil
		}
	}
	return status.Errorf(codes.Unauthenticated, "%s: the cluster secret is missing or wrong (start the task manager with the job manager's --cluster-secret)", method)
}

// SecretCredentials returns call credentials that send secret with every
// call (grpc.WithPerRPCCredentials). They work over plaintext connections
// too: use TLS where the network is not trusted.
func SecretCredentials(secret string) credentials.PerRPCCredentials { return secretCreds(secret) }

type secretCreds string

func (s secretCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return map[string]string{SecretMetadata: string(s)}, nil
}

func (secretCreds) RequireTransportSecurity() bool { return false }
