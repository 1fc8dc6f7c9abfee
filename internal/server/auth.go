package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/grpc"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/route"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/store"
)

// newAuth makes the authentication service when cfg turns it on (nil
// otherwise) and creates the first admin. A database that takes no writes
// yet leaves the admin to Run, as the retention flags are.
func newAuth(ctx context.Context, st store.Store, cfg Config, log *slog.Logger) (svc *auth.Service, pending bool, err error) {
	if !cfg.EnableAuth {
		return nil, false, nil
	}
	svc, err = auth.New(st, auth.Config{Secret: cfg.Secret.Value, AdminSecret: cfg.AdminSecret.Value,
		InitialAdminPassword: cfg.InitialAdminPassword.Value, SecureCookies: cfg.SecureCookies, Log: log})
	if err != nil {
		return nil, false, err
	}
	if err := svc.Bootstrap(ctx); err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			return nil, false, err
		}
		log.Warn("the database takes no writes now; the first admin is created once it does", "err", err)
		return svc, true, nil
	}
	return svc, false, nil
}

// singleSignOn logs people in through the configured identity providers,
// with authentication on; nil otherwise.
func (s *Server) singleSignOn(log *slog.Logger) *sso.Service {
	idps := s.cfg.IdentityProviders
	if len(idps) == 0 {
		return nil
	}
	if s.auth == nil {
		log.Warn("PHOENIX_OAUTH2_* variables configure single sign-on, but authentication is off: they are ignored")
		return nil
	}
	for _, c := range idps {
		log.Info("single sign-on through "+c.DisplayName, "idp", c.Name, "callback", "/oauth2/"+c.Name+"/tokens",
			"sign_up", c.AllowSignUp, "auto_login", c.AutoLogin)
	}
	return sso.New(s.auth, idps, sso.Options{SecureCookies: s.cfg.SecureCookies, Log: log})
}

// guard is the middleware of a surface: authentication as o says, or none
// when it is off.
func (s *Server) guard(o auth.HTTPOptions) []route.Middleware {
	if s.auth == nil {
		return nil
	}
	return []route.Middleware{s.auth.Middleware(o)}
}

// ownGuard guards the server's own routes: /healthz and /readyz are open,
// as load balancers probe them, and /metrics unless --metrics-auth.
func (s *Server) ownGuard() []route.Middleware {
	return s.guard(auth.HTTPOptions{Open: func(r *http.Request) bool {
		return r.Pattern != "GET /metrics" || !s.cfg.MetricsAuth
	}})
}

// grpcGuard are the gRPC server's options for authentication: every
// method (OTLP export) writes.
func (s *Server) grpcGuard() []grpc.ServerOption {
	if s.auth == nil {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.auth.UnaryServerInterceptor(nil)),
		grpc.ChainStreamInterceptor(s.auth.StreamServerInterceptor(nil)),
	}
}

// warnIfOpen says, when authentication is off, whether other machines can
// reach this server, and so every trace it holds.
func (s *Server) warnIfOpen() {
	if s.auth != nil {
		return
	}
	if exposed := s.cfg.exposedAddrs(); len(exposed) > 0 {
		s.log.Warn(fmt.Sprintf("authentication is off and Loupe listens on %s, which other machines may reach: "+
			"anyone who can connect can read every trace and write spans. Turn it on with LOUPE_ENABLE_AUTH=true and "+
			"LOUPE_SECRET=<32+ characters>, or listen on 127.0.0.1 only", strings.Join(exposed, " and ")))
	}
}
