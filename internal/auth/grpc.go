package auth

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor authenticates each call by its "authorization"
// metadata (Bearer <key>), as Phoenix's exporters send it: a missing or
// refused key is UNAUTHENTICATED, a principal that may not do what the
// method needs PERMISSION_DENIED, and a database that cannot say
// UNAVAILABLE, which exporters retry. need says what each method (by its
// full name) needs; nil means Write, as OTLP export does.
func (s *Service) UnaryServerInterceptor(need func(fullMethod string) Access) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := s.authorizeCall(ctx, info.FullMethod, need)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams.
func (s *Service) StreamServerInterceptor(need func(fullMethod string) Access) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := s.authorizeCall(ss.Context(), info.FullMethod, need)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

func (s *Service) authorizeCall(ctx context.Context, method string, need func(string) Access) (context.Context, error) {
	var token string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			scheme, t, _ := strings.Cut(v[0], " ")
			if !strings.EqualFold(scheme, "Bearer") {
				return ctx, status.Error(codes.Unauthenticated, errInvalidToken.msg)
			}
			token = strings.TrimSpace(t)
			if token == "" {
				return ctx, status.Error(codes.Unauthenticated, errInvalidToken.msg)
			}
		}
	}
	p, err := s.VerifyToken(ctx, token)
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			return ctx, status.Error(codes.Unauthenticated, ae.msg)
		}
		s.errs.Warn("auth: verify credentials: storage unavailable", "err", err)
		return ctx, status.Error(codes.Unavailable, "storage is unavailable; retry later")
	}
	a := Write
	if need != nil {
		a = need(method)
	}
	if !p.Can(a) {
		return ctx, status.Error(codes.PermissionDenied, forbidden(a).Error())
	}
	return WithPrincipal(ctx, p), nil
}
