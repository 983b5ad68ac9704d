package tfprovider

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/conflux-sync/conflux-sync/api"
)

// tokenSource is the admin API token the provider sends: a fixed one
// (auth_token, CONFLUX_SYNC_TOKEN) or one read from a file
// (auth_token_file, CONFLUX_SYNC_TOKEN_PATH) that is read again when the
// API refuses it or says it is retiring.
type tokenSource struct {
	// path is the token file; "" for a fixed token.
	path string

	mu    sync.Mutex
	token string
}

func (s *tokenSource) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// reread reads the token file again and reports whether it now holds a
// token other than sent. A file that cannot be read or holds no token
// keeps the token in force.
func (s *tokenSource) reread(sent string) bool {
	if s.path == "" {
		return false
	}
	tok, err := readTokenFile(s.path)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = tok
	return tok != sent
}

// readTokenFile reads a file holding one token (white space around it is
// dropped). Errors name the file and the line, never the token.
func readTokenFile(p string) (string, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	token := ""
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case token != "":
			return "", fmt.Errorf("%s line %d: the file holds more than one line; it must hold the token alone", p, n+1)
		case strings.ContainsAny(line, " \t"):
			return "", fmt.Errorf("%s line %d: a token holds no white space", p, n+1)
		default:
			for _, role := range []string{"read:", "write:", "admin:"} {
				if strings.HasPrefix(line, role) {
					return "", fmt.Errorf("%s line %d: starts with %q like a line of the server's --token-file; this file holds the token alone", p, n+1, role)
				}
			}
			token = line
		}
	}
	if token == "" {
		return "", fmt.Errorf("%s is empty", p)
	}
	return token, nil
}

// configureToken picks the token source. auth_token and auth_token_file
// in the provider block come first (one of them); then the environment,
// CONFLUX_SYNC_TOKEN or CONFLUX_SYNC_TOKEN_PATH (one of them). Problems
// are attribute errors in diags.
func configureToken(cfg providerModel, getenv func(string) string, diags *diag.Diagnostics) *tokenSource {
	hclToken, hclFile := stringOr(cfg.AuthToken, ""), stringOr(cfg.AuthTokenFile, "")
	var tok, file, fileAttr string
	switch {
	case hclToken != "" && hclFile != "":
		diags.AddAttributeError(path.Root("auth_token_file"), "Conflicting auth_token and auth_token_file",
			"The provider block sets both auth_token and auth_token_file; set one of them (auth_token_file lets the token rotate during an apply).")
		return nil
	case hclToken != "":
		tok = hclToken
	case hclFile != "":
		file, fileAttr = hclFile, "auth_token_file"
	case getenv(EnvToken) != "" && getenv(EnvTokenFile) != "":
		diags.AddAttributeError(path.Root("auth_token"), "Conflicting "+EnvToken+" and "+EnvTokenFile,
			"Both "+EnvToken+" and "+EnvTokenFile+" are set and the provider block sets neither auth_token nor auth_token_file; unset one of the two variables.")
		return nil
	case getenv(EnvToken) != "":
		tok = getenv(EnvToken)
	case getenv(EnvTokenFile) != "":
		file, fileAttr = getenv(EnvTokenFile), "auth_token_file"
	default:
		diags.AddAttributeError(path.Root("auth_token"), "Missing auth_token",
			"Set auth_token or auth_token_file in the provider block, or the "+EnvToken+" or "+EnvTokenFile+" environment variable, to an admin API token with the write role.")
		return nil
	}
	if file == "" {
		return &tokenSource{token: tok}
	}
	read, err := readTokenFile(file)
	if err != nil {
		where := fileAttr
		if hclFile == "" {
			where = fileAttr + " (from " + EnvTokenFile + ")"
		}
		diags.AddAttributeError(path.Root(fileAttr), "Cannot read "+fileAttr, where+": "+err.Error())
		return nil
	}
	return &tokenSource{path: file, token: read}
}

// authTransport sends the current token with every request. When the API
// answers 401 and the token comes from a file, it reads the file again
// and, if the token changed (it was rotated), sends the request once more
// with the new one. An answer saying the token is retiring
// (api.TokenExpiresHeader) has the file read again for the next requests.
type authTransport struct {
	next   http.RoundTripper
	tokens *tokenSource
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := t.tokens.current()
	resp, err := t.next.RoundTrip(withToken(req, sent, req.Body))
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		// Only a request whose body can be sent again is retried; the
		// api client's bodies all can (bytes.Reader).
		if (req.Body != nil && req.GetBody == nil) || !t.tokens.reread(sent) {
			return resp, nil
		}
		var body io.ReadCloser
		if req.GetBody != nil {
			if body, err = req.GetBody(); err != nil {
				return resp, nil
			}
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return t.next.RoundTrip(withToken(req, t.tokens.current(), body))
	case resp.Header.Get(api.TokenExpiresHeader) != "":
		t.tokens.reread(sent)
	}
	return resp, nil
}

// withToken is a copy of req carrying token and body: a RoundTripper must
// not change the caller's request.
func withToken(req *http.Request, token string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}
