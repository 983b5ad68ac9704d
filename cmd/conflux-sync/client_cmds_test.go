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
