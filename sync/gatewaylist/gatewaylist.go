package gatewaylist

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Name is the target kind this package implements.
const Name = cfapi.KindGatewayList

// maxNameLen bounds spec.name: long enough for any name people give, short
// enough to stay a name in plans and logs.
const maxNameLen = 255

// maxDescription leaves the user's description room beside the marker in
// the list's description (cfapi.Comment cuts at cfapi.MaxCommentLen).
const maxDescription = cfapi.MaxCommentLen

// maxItems is the most items an Enterprise account's list holds.
const maxItems = 5000

// Types are the list types the API takes.
var Types = []string{"SERIAL", "URL", "DOMAIN", "EMAIL", "IP"}

// Spec is a cloudflare.GatewayList fragment (see api.GatewayListSpec).
type Spec = api.GatewayListSpec

// New returns the Gateway list kind: one owner per target, Conflicts
// keyed "gatewayList".
func New() kind.Kind {
	return kind.OneOwnerKind[Spec]{KindName: Name, ConflictKey: "gatewayList", Check: validate, Canonical: Canonical}
}

// Canonical normalises s so equal meanings marshal to equal bytes: the
// type upper case, items sorted by value (a list is a set). It does not
// validate.
func Canonical(s Spec) Spec {
	s.ID = strings.ToLower(s.ID)
	s.TakeOver = strings.ToLower(s.TakeOver)
	s.Type = strings.ToUpper(s.Type)
	if len(s.Items) == 0 {
		s.Items = nil
	} else {
		s.Items = slices.Clone(s.Items)
		slices.SortStableFunc(s.Items, func(a, b api.GatewayListItem) int { return strings.Compare(a.Value, b.Value) })
	}
	if s.Credentials != nil {
		c := *s.Credentials
		s.Credentials = &c
	}
	return s
}

func validate(s *Spec) *api.FieldError {
	if fe := cfapi.CheckAccountID("spec.accountId", s.AccountID); fe != nil {
		return fe
	}
	if fe := cfapi.CheckObjectName("spec.name", s.Name, maxNameLen); fe != nil {
		return fe
	}
	typ := strings.ToUpper(s.Type)
	switch {
	case !slices.Contains(Types, typ):
		return &api.FieldError{Field: "spec.type", Reason: fmt.Sprintf("%q is not a list type (one of %s)", s.Type, strings.Join(Types, ", "))}
	case len([]rune(s.Description)) > maxDescription:
		return &api.FieldError{Field: "spec.description", Reason: fmt.Sprintf("is longer than %d characters", maxDescription)}
	case len(s.Items) > maxItems:
		return &api.FieldError{Field: "spec.items", Reason: fmt.Sprintf("has more than %d items (the API's limit)", maxItems)}
	case s.ID != "" && !cfapi.IsUUID(s.ID):
		return &api.FieldError{Field: "spec.id", Reason: fmt.Sprintf("%q is not a Gateway list id (a UUID)", s.ID)}
	case s.TakeOver != "" && s.ID != "":
		return &api.FieldError{Field: "spec.takeOver", Reason: "give either id (adopt that list) or takeOver (own the list a previous controller created), not both"}
	case s.TakeOver != "" && !cfapi.IsUUID(s.TakeOver):
		return &api.FieldError{Field: "spec.takeOver", Reason: fmt.Sprintf("%q is not a Gateway list id (a UUID)", s.TakeOver)}
	case s.Credentials != nil && s.AccountID == "":
		return &api.FieldError{Field: "spec.accountId", Reason: "is required with spec.credentials"}
	}
	seen := make(map[string]int, len(s.Items))
	for i, it := range s.Items {
		if reason := CheckItem(typ, it.Value); reason != "" {
			return &api.FieldError{Field: fmt.Sprintf("spec.items[%d].value", i), Reason: reason}
		}
		if j, dup := seen[it.Value]; dup {
			return &api.FieldError{Field: fmt.Sprintf("spec.items[%d].value", i), Reason: fmt.Sprintf("%q is already items[%d] (values are unique in a list)", it.Value, j)}
		}
		seen[it.Value] = i
		if strings.ContainsFunc(it.Description, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return &api.FieldError{Field: fmt.Sprintf("spec.items[%d].description", i), Reason: "has control characters"}
		}
	}
	return cfapi.ValidateCredentials(s.Credentials)
}

var (
	hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$`)
	serialRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
)

// CheckItem returns why value is not an item of a list of type typ, or
// "": what the API refuses, said before it is proposed.
func CheckItem(typ, value string) string {
	if value == "" {
		return "is required"
	}
	if strings.ContainsAny(value, " \t\r\n") {
		return fmt.Sprintf("%q has white space", value)
	}
	switch typ {
	case "IP":
		if _, err := netip.ParsePrefix(value); err == nil {
			return ""
		}
		if _, err := netip.ParseAddr(value); err != nil {
			return fmt.Sprintf("%q is not an IP address or CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)", value)
		}
	case "EMAIL":
		if a, err := mail.ParseAddress(value); err != nil || a.Address != value {
			return fmt.Sprintf("%q is not an email address (e.g. someone@example.com)", value)
		}
	case "DOMAIN":
		if len(value) > 253 || !hostnameRE.MatchString(value) {
			return fmt.Sprintf("%q is not a domain name (e.g. example.com; no scheme, path or wildcard)", value)
		}
	case "URL":
		u, err := url.Parse(value)
		host := strings.SplitN(value, "/", 2)[0]
		if err != nil || (u.Scheme == "" && !hostnameRE.MatchString(host)) || (u.Scheme != "" && u.Host == "") {
			return fmt.Sprintf("%q is not a URL (e.g. example.com/path or https://example.com/path)", value)
		}
	case "SERIAL":
		if !serialRE.MatchString(value) {
			return fmt.Sprintf("%q is not a device serial number (letters, digits and . _ : / -)", value)
		}
	}
	return ""
}
