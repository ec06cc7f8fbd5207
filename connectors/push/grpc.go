package push

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
)

// MethodPrefix is the prefix of the PushService's method names, for the
// job manager's cluster-secret interceptor.
var MethodPrefix = "/" + pushv1.PushService_ServiceDesc.ServiceName + "/"

// service serves a Hub as eddy.push.v1.PushService.
type service struct {
	pushv1.UnimplementedPushServiceServer
	hub *Hub
}

// Register serves the hub's PushService on srv (the job manager's gRPC
// server), for the writers of push tables on remote task managers.
func (h *Hub) Register(srv grpc.ServiceRegistrar) {
	pushv1.RegisterPushServiceServer(srv, &service{hub: h})
}

// Publish implements pushv1.PushServiceServer.
func (s *service) Publish(ctx context.Context, req *pushv1.PublishRequest) (*pushv1.PublishResponse, error) {
	ok, err := s.hub.Publish(ctx, req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pushv1.PublishResponse{Published: ok}, nil
}

// Client is the Publisher of a remote task manager: it publishes through
// the job manager's PushService.
type Client struct {
	c pushv1.PushServiceClient
}

// NewClient returns a Publisher calling the PushService over conn (the
// task manager's connection to the job manager, with its cluster secret
// and TLS).
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{c: pushv1.NewPushServiceClient(conn)}
}

// Publish implements Publisher.
func (c *Client) Publish(ctx context.Context, req *pushv1.PublishRequest) (bool, error) {
	resp, err := c.c.Publish(ctx, req)
	if err != nil {
		return false, fmt.Errorf("push: publish to the job manager: %w", err)
	}
	return resp.GetPublished(), nil
}
