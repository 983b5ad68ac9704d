package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/conflux-sync/conflux-sync/api"
)

func TestPrintWritesShowsWarnings(t *testing.T) {
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
	printWrites(tw, []api.WriteResult{
		{Index: 7, Changed: 1, Warnings: []api.Warning{{Field: "spec.rules[0].hostname", Message: "ends with a dot"}}},
		{Index: 8},
	})
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "applied at index 7 (1 changed)\n  warning: spec.rules[0].hostname  ends with a dot\napplied at index 8 (0 changed)\n"
	if got := out.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Count(out.String(), "warning") != 1 {
		t.Fatal("a write without warnings printed one")
	}
}

// targets get shows what a flush recorded downstream, whatever the kind:
// a virtual network's id is what its routes go into.
func TestPrintTargetShowsDownstreamIDs(t *testing.T) {
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
	printTarget(tw, api.Target{Target: api.TargetRef{Kind: api.KindVirtualNetwork, Name: "lab"}, Status: &api.SyncStatus{
		DownstreamIDs: map[string]string{"virtualNetworkId": "f174e90a-fafe-4643-bbbc-4a0ed4fc8415", "accountId": "acc1", "created": "true"},
	}})
	want := "Downstream:    accountId=acc1\n" +
		"               created=true\n" +
		"               virtualNetworkId=f174e90a-fafe-4643-bbbc-4a0ed4fc8415\n"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("got\n%s\nwant it to contain\n%s", out.String(), want)
	}
}
