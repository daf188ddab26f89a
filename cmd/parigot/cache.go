package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/internal/compcache"
)

func newCacheCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show where compiled guests are cached, and how much space they take",
		Long: `cache shows wazero's compilation cache: the native code of every guest
parigot has run, which loads in a fraction of the seconds compiling a guest
takes. It lives in $PARIGOT_CACHE_DIR/wazero, else in the user cache
directory's parigot/wazero (~/.cache/parigot/wazero on Linux).

Each edited guest adds an entry (10 to 30 MB), so parigot run, parigot test
and topology tests prune the cache, at most once an hour: entries unused for
PARIGOT_CACHE_MAX_AGE (default 7d; e.g. 14d or 72h) go, then the least
recently used until the rest fit in PARIGOT_CACHE_MAX_SIZE (default 1GiB;
e.g. 500MB or 4GiB). Either set to off removes that limit.

'parigot cache clean' removes every entry; guests are compiled again the
next time they run. The Go build cache, where the go command keeps the
compiled Go packages of guests, is the go command's: see go env GOCACHE and
go clean -cache.`,
		Example: `  parigot cache
  parigot cache clean
  PARIGOT_CACHE_MAX_SIZE=4GiB parigot run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{err: fmt.Errorf("cache takes no arguments but the command clean, got %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			policy, err := compcache.PolicyFromEnv()
			if err != nil {
				return err
			}
			dir := compcache.WazeroDir()
			u, err := compcache.Measure(dir)
			if err != nil {
				return fmt.Errorf("measuring the compilation cache in %s: %w", dir, err)
			}
			size, age := "none ("+compcache.EnvMaxSize+"=off)", "none ("+compcache.EnvMaxAge+"=off)"
			if policy.MaxSize > 0 {
				size = compcache.FormatSize(policy.MaxSize) + " (" + compcache.EnvMaxSize + ")"
			}
			if policy.MaxAge > 0 {
				age = compcache.FormatAge(policy.MaxAge) + " unused (" + compcache.EnvMaxAge + ")"
			}
			fmt.Fprintf(stdout, "location  %s\nholds     %s, %s\nmax size  %s\nmax age   %s\n",
				dir, compiledGuests(u.Entries), compcache.FormatSize(u.Bytes), size, age)
			if policy.MaxSize > 0 && u.Bytes > policy.MaxSize {
				when := "at the next run, test or topology test"
				if next := compcache.NextPrune(dir); next.After(time.Now()) {
					when = "at the next run, test or topology test from " + next.Format("15:04")
				}
				fmt.Fprintf(stdout, "note      over its max size: pruned %s (at most once an hour); parigot cache clean empties it now\n", when)
			}
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "clean",
		Short: "Remove every compiled guest from the cache",
		Long: `clean removes every entry of wazero's compilation cache (see parigot cache).
Guests are compiled again, a few seconds each, the next time they run. A run
that is going on meanwhile is not disturbed: it keeps what it loaded, and
compiles again what it looks for later.`,
		Example: `  parigot cache clean`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := compcache.WazeroDir()
			u, err := compcache.Clean(dir, time.Now())
			if err != nil {
				return fmt.Errorf("cleaning the compilation cache in %s: %w", dir, err)
			}
			fmt.Fprintf(stdout, "removed %s (%s) from %s\n", compiledGuests(u.Entries), compcache.FormatSize(u.Bytes), dir)
			return nil
		},
	})
	return cmd
}

func compiledGuests(n int) string {
	if n == 1 {
		return "1 compiled guest"
	}
	return fmt.Sprintf("%d compiled guests", n)
}
