package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"parigot.dev/parigot/internal/suggest"
	"parigot.dev/parigot/manifest"
)

// checkNames says what is wrong with a flag that names guests of app
// (--debug, --only): each name must be a service or program, or with
// gateways also a gateway, of the app; a name that is not, and is near
// one that is, gets a "did you mean". It is checked as soon as the
// manifest is read, so that a mistyped name is told before the build.
func checkNames(flag string, names []string, app *manifest.App, gateways bool) error {
	what := "a service or program"
	var known []string
	for _, g := range app.Guests() {
		known = append(known, g.Name)
	}
	if gateways {
		what = "a service, program or gateway"
		for _, g := range app.Gateways {
			known = append(known, g.Name)
		}
	}
	for _, name := range names {
		if app.Guest(name) != nil || gateways && app.Gateway(name) != nil {
			continue
		}
		msg := fmt.Sprintf("--%s names %q, which is not %s of %s", flag, name, what, app.Name)
		if c := suggest.Closest(name, known); c != "" {
			msg += fmt.Sprintf(": did you mean %s?", c)
		} else {
			msg += fmt.Sprintf(" (it has %s)", strings.Join(known, ", "))
		}
		return usageError{err: errors.New(msg)}
	}
	return nil
}

// unknownMode is the usage error for a --mode that is none of modes,
// with the nearest when it is near one.
func unknownMode(mode string, modes ...string) error {
	msg := fmt.Sprintf("unknown --mode %q: the modes are %s and %s", mode, strings.Join(modes[:len(modes)-1], ", "), modes[len(modes)-1])
	if c := suggest.Closest(mode, modes); c != "" {
		msg += fmt.Sprintf("; did you mean --mode=%s?", c)
	}
	return usageError{err: errors.New(msg)}
}

// checkAddress says what is wrong with the value of an address flag
// (--listen, --dashboard, --debug-listen): it must be host:port, the port
// a number (0: a free one). It is checked before the build, so that a
// mistyped flag is told at once, not after the guests are compiled.
func checkAddress(flag, value string) error {
	if value == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(value)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
	}
	if err != nil {
		port := map[string]string{"listen": "8080", "dashboard": "7070", "debug-listen": "2345"}[flag]
		return usageError{err: fmt.Errorf("--%s %q is not host:port (%v), for example 127.0.0.1:%s, or :%s for every interface", flag, value, errText(err), port, port)}
	}
	return nil
}

// errText is an error's text without net's "address x: " prefix, which
// the message says already.
func errText(err error) string {
	if ae, ok := err.(*net.AddrError); ok {
		return ae.Err
	}
	return err.Error()
}

// checkOTLP says what is wrong with an --otlp receiver's URL: an http or
// https URL with a host, as a collector's is.
func checkOTLP(value string) error {
	if value == "" {
		return nil
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{err: fmt.Errorf("--otlp %q is not the URL of an OTLP/HTTP receiver: give its http or https URL, for example http://127.0.0.1:4318 (a collector's)", value)}
	}
	return nil
}

// numberFlagError rewrites pflag's refusal of a number ("invalid
// argument "abc" for "-j, --jobs" flag: strconv.ParseInt: parsing "abc":
// invalid syntax") into words (--jobs "abc" is not a whole number): the
// strconv part names Go's parser, not what is wrong.
func numberFlagError(err error) error {
	m := strconvText.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	value, flag, parser, reason := m[1], m[2], m[3], m[4]
	what := "is not a whole number"
	switch {
	case reason == "value out of range":
		what = "is out of range"
	case parser == "Bool":
		what = "is neither true nor false"
	case parser == "Float":
		what = "is not a number"
	}
	return fmt.Errorf("%s %q %s", flag, value, what)
}

// strconvText matches pflag's error for a flag value strconv refused.
var strconvText = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-[^,]+, )?(--[^"]+)" flag: strconv\.Parse(Int|Uint|Float|Bool): parsing ".*": (invalid syntax|value out of range)$`)
