package owned_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
	"github.com/conflux-sync/conflux-sync/sync/kind"
	"github.com/conflux-sync/conflux-sync/sync/owned"
)

// The test kind: widgets, a downstream object with a name (what collides),
// a size (what updates) and a region (what cannot change in place), kept
// by an in-memory fake API. Each test runs it with and without a comment
// for the ownership marker (widgetKind.marked), the two ways kinds prove
// ownership.

const (
	widgetKind = "test.Widget"
	idWidget   = "widgetId"
	idRegion   = "region"
)

type widgetSpec struct {
	AccountID   string         `json:"accountId,omitempty"`
	Name        string         `json:"name"`
	Size        int            `json:"size,omitempty"`
	Region      string         `json:"region,omitempty"`
	Adopt       bool           `json:"adopt,omitempty"`
	ID          string         `json:"id,omitempty"`
	TakeOver    string         `json:"takeOver,omitempty"`
	Wait        bool           `json:"wait,omitempty"`
	Credentials *api.SecretRef `json:"credentials,omitempty"`
}

type widget struct {
	ID, Name, Region, Comment string
	Size                      int
}

// widgetOneOwner aggregates widget fragments for a cfapitest.Flow.
func widgetOneOwner() kind.Kind {
	return kind.OneOwnerKind[widgetSpec]{KindName: widgetKind, ConflictKey: "widget",
		Check:     func(*widgetSpec) *api.FieldError { return nil },
		Canonical: func(s widgetSpec) widgetSpec { return s }}
}

// widgets is the fake API and the kind over it.
type widgets struct {
	marked bool

	mu     sync.Mutex
	byID   map[string]widget
	next   int
	writes []string
	// getErr, when set, fails every read.
	getErr error
	// inexact makes List say it cannot filter exactly.
	inexact bool
}

var _ owned.Kind[widgetSpec, widget] = (*widgets)(nil)

func newWidgets(marked bool) *widgets { return &widgets{marked: marked, byID: map[string]widget{}} }

// put stores w as if made by hand (or by another controller) and returns its id.
func (k *widgets) put(w widget) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.next++
	w.ID = "w" + strconv.Itoa(k.next)
	k.byID[w.ID] = w
	return w.ID
}

// edit changes a widget by hand; fn nil deletes it.
func (k *widgets) edit(id string, fn func(*widget)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if fn == nil {
		delete(k.byID, id)
		return
	}
	w := k.byID[id]
	fn(&w)
	k.byID[id] = w
}

func (k *widgets) get(id string) (widget, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	w, ok := k.byID[id]
	return w, ok
}

// Writes returns the writes so far, oldest first: "create w1", ...
func (k *widgets) Writes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.writes)
}

// write refuses in a dry run, as cfapi's client does, and counts.
func (k *widgets) write(ctx context.Context, what string) error {
	if err := engine.VerifyWrite(ctx); err != nil {
		return err
	}
	k.writes = append(k.writes, what)
	return nil
}

func (k *widgets) Names() owned.Names {
	return owned.Names{Kind: widgetKind, Noun: "widget", IDKey: idWidget, LabelKey: "name", Marked: k.marked}
}

func (k *widgets) Canonical(s widgetSpec) widgetSpec {
	if s.Region == "" {
		s.Region = "eu"
	}
	return s
}

func (k *widgets) Claim(s widgetSpec) owned.Claim {
	c := owned.Claim{Adopt: s.Adopt, ID: s.ID}
	if k.marked {
		c.TakeOverMarker = s.TakeOver
	} else {
		c.TakeOverID = s.TakeOver
	}
	return c
}

func (k *widgets) Place(_ context.Context, req engine.Request, s widgetSpec) (widgetSpec, owned.Place, error) {
	if s.Wait {
		return s, owned.Place{Waits: "waits for something the plan creates"}, nil
	}
	return s, owned.Place{Account: s.AccountID, Credentials: s.Credentials, IDs: map[string]string{"placed": "yes"}}, nil
}

func (k *widgets) Ref(w widget) owned.Ref {
	return owned.Ref{ID: w.ID, Label: w.Name, Comment: w.Comment}
}

func (k *widgets) IDs(s widgetSpec, w *widget) map[string]string {
	ids := map[string]string{idRegion: s.Region}
	if w != nil {
		ids["size"] = strconv.Itoa(w.Size)
	}
	return ids
}

func (k *widgets) Get(_ context.Context, _ *cfapi.Account, id string) (*widget, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.getErr != nil {
		return nil, k.getErr
	}
	w, ok := k.byID[id]
	if !ok {
		return nil, nil
	}
	return &w, nil
}

func (k *widgets) List(_ context.Context, _ *cfapi.Account, s widgetSpec) ([]widget, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.getErr != nil {
		return nil, false, k.getErr
	}
	var out []widget
	for _, w := range k.byID {
		if w.Name == s.Name {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b widget) int { return strings.Compare(a.ID, b.ID) })
	return out, !k.inexact, nil
}

func (k *widgets) comment(marker string) string {
	if k.marked {
		return marker
	}
	return ""
}

func (k *widgets) Create(ctx context.Context, _ *cfapi.Account, s widgetSpec, marker string) (widget, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range k.byID {
		if w.Name == s.Name {
			return widget{}, k.Clash(s, fmt.Errorf("409: widget %s exists", s.Name))
		}
	}
	k.next++
	w := widget{ID: "w" + strconv.Itoa(k.next), Name: s.Name, Region: s.Region, Size: s.Size, Comment: k.comment(marker)}
	if err := k.write(ctx, "create "+w.ID); err != nil {
		return widget{}, err
	}
	k.byID[w.ID] = w
	return w, nil
}

func (k *widgets) Update(ctx context.Context, _ *cfapi.Account, w widget, s widgetSpec, marker string) (widget, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.write(ctx, "update "+w.ID); err != nil {
		return widget{}, err
	}
	w.Size, w.Comment = s.Size, k.comment(marker)
	k.byID[w.ID] = w
	return w, nil
}

func (k *widgets) Delete(ctx context.Context, _ *cfapi.Account, id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.write(ctx, "delete "+id); err != nil {
		return err
	}
	delete(k.byID, id)
	return nil
}

func (k *widgets) Diff(w widget, s widgetSpec, marker string) []string {
	var out []string
	if w.Size != s.Size {
		out = append(out, fmt.Sprintf("size %d -> %d", w.Size, s.Size))
	}
	if c := k.comment(marker); k.marked && w.Comment != c {
		out = append(out, fmt.Sprintf("comment %q -> %q", w.Comment, c))
	}
	return out
}

func (k *widgets) Creates(s widgetSpec) string { return s.Name + " in " + s.Region }

func (k *widgets) Moved(w widget, s widgetSpec, _ map[string]string) string {
	if w.Region != s.Region {
		return "the region moved"
	}
	return ""
}

func (k *widgets) Pick(s widgetSpec, _ []widget, action string) (*widget, error) {
	return nil, engine.Permanent(fmt.Errorf("several widgets named %s: cannot tell which to %s", s.Name, action))
}

func (k *widgets) Clash(s widgetSpec, err error) error {
	msg := fmt.Sprintf("widget %s exists and is not managed by conflux-sync; set adopt", s.Name)
	if err != nil {
		return engine.Permanent(fmt.Errorf("%s: %w", msg, err))
	}
	return engine.Permanent(fmt.Errorf("%s", msg))
}
