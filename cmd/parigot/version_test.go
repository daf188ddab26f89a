package main

import (
	"runtime"
	"testing"

	"parigot.dev/parigot/internal/buildinfo"
)

func TestVersionText(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, tc := range []struct {
		name string
		p    buildinfo.Parigot
		tree string
		want string
	}{
		{
			name: "a release shows its version and wazero's",
			p:    buildinfo.Parigot{Version: "v1.2.3", Go: "go1.26.8", Wazero: "v1.12.0"},
			want: "parigot v1.2.3\ngo      go1.26.8" + platform + "wazero  v1.12.0\n",
		},
		{
			name: "a development build shows its commit, shortened, and its tree",
			p:    buildinfo.Parigot{Version: "(devel)", Revision: "8b100d9c0ffee0123456789", Modified: true, Go: "go1.26.8", Wazero: "v1.12.0"},
			tree: "/home/you/parigot",
			want: "parigot (devel) (commit 8b100d9c0ffe, modified)\ntree    /home/you/parigot\ngo      go1.26.8" + platform + "wazero  v1.12.0\n",
		},
		{
			name: "no build information still prints every line",
			p:    buildinfo.From(nil),
			want: "parigot (unknown)\ngo      " + runtime.Version() + platform + "wazero  (unknown)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionText(tc.p, tc.tree); got != tc.want {
				t.Errorf("versionText:\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
