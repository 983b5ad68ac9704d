package repo

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// The http and https transports of go-git follow a redirect of the first
// request of a session (as git's http.followRedirects=initial does) and
// drop credentials when it leaves the origin. A Git source must not be
// read from a host other than the one its URL names, though: that host is
// what the server's --source-allow and the credentials' binding allowed.
// So a redirect is followed only within the same scheme, host and port
// (a renamed repository); one to anywhere else fails the poll, before any
// request reaches the other host.
func init() {
	hc := &http.Client{Transport: http.DefaultTransport, CheckRedirect: sameOriginRedirect}
	t := githttp.NewClientWithOptions(hc, &githttp.ClientOptions{RedirectPolicy: githttp.FollowInitialRedirects})
	client.InstallProtocol("http", t)
	client.InstallProtocol("https", t)
}

// ErrCrossHostRedirect is the cause of a poll whose server redirected to
// another host.
var ErrCrossHostRedirect = errors.New("redirect to another host refused")

func sameOriginRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	from, to := via[0].URL, req.URL
	if to.Scheme != from.Scheme || to.Host != from.Host {
		return fmt.Errorf("%w: %s://%s redirects to %s://%s; register the URL it names instead", ErrCrossHostRedirect, from.Scheme, from.Host, to.Scheme, to.Host)
	}
	return nil
}
