package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// tlsFlags are the task manager's TLS flags.
type tlsFlags struct {
	cert, key, ca string
}

// serving reports whether the task manager serves TLS.
func (f tlsFlags) serving() bool { return f.cert != "" }

// dialing reports whether the task manager dials the job manager and its
// peers over TLS: when it has a CA bundle or serves TLS itself.
func (f tlsFlags) dialing() bool { return f.ca != "" || f.cert != "" }

// check validates the combination of flags.
func (f tlsFlags) check() error {
	if (f.cert == "") != (f.key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

// serverCreds loads the certificate the task manager serves its gRPC
// services with.
func (f tlsFlags) serverCreds() (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// clientCreds are the transport credentials of the task manager's
// connections to the job manager and to other task managers: TLS verified
// against --tls-ca (default: the system roots) when dialing() says so,
// else plaintext. gRPC verifies the dialed host name or IP address
// against the peer's certificate.
func (f tlsFlags) clientCreds() (credentials.TransportCredentials, error) {
	if !f.dialing() {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.ca != "" {
		pool, err := loadCA(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}

// loadCA reads a PEM bundle of CA certificates.
func loadCA(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}

// errJobManagerTLS says a task manager without TLS flags dialed a job
// manager that serves TLS.
var errJobManagerTLS = errors.New("the job manager serves TLS but this task manager dials it in plaintext: " +
	"start the task manager with --tls-ca (the CA bundle that signed the job manager's certificate) and, since the job manager " +
	"then dials task managers over TLS too, --tls-cert and --tls-key")

// plainConn is the plaintext connection to the job manager. When a call
// fails as a TLS server answers plaintext, it probes the job manager's
// address with a TLS handshake (verifying nothing and sending no data: it
// only asks whether TLS is spoken there) and, if TLS answers, calls
// mismatch with errJobManagerTLS.
type plainConn struct {
	*grpc.ClientConn
	addr     string
	mismatch func(error)
}

// Invoke implements grpc.ClientConnInterface.
func (c *plainConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	err := c.ClientConn.Invoke(ctx, method, args, reply, opts...)
	if status.Code(err) == codes.Unavailable && ctx.Err() == nil && !strings.Contains(err.Error(), "connection refused") {
		if speaksTLS(ctx, c.addr) {
			c.mismatch(errJobManagerTLS)
		}
	}
	return err
}

// speaksTLS reports whether a TLS handshake with addr succeeds (without
// verifying the peer).
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // a probe: nothing is verified because nothing is sent
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
