package codegen

import (
	"fmt"
	"maps"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// asides are the google.api.http rules that vanguard refused, set aside
// so that it maps the others (see mapAll): by the method's full name
// ("package.Service.Method"), the rules' numbers, 0 for the rule itself
// and n for its additional binding #n, as vanguard's errors number them.
type asides map[string]map[int]bool

func (a asides) add(method string, binding int) {
	if a[method] == nil {
		a[method] = map[int]bool{}
	}
	a[method][binding] = true
}

func (a asides) clone() asides {
	c := asides{}
	for m, bindings := range a {
		c[m] = maps.Clone(bindings)
	}
	return c
}

// apply is sd with the rules of a replaced: each by a GET of a path no
// other rule maps, of no field, which vanguard maps whatever the method,
// so that the numbers of the rules left stay those of the .proto file
// (and of vanguard's errors). Only the routes differ: it is for mapping,
// never for serving. sd itself when a holds none of its rules.
func (a asides) apply(sd protoreflect.ServiceDescriptor) protoreflect.ServiceDescriptor {
	methods := sd.Methods()
	list := make([]protoreflect.MethodDescriptor, methods.Len())
	changed := false
	for i := range list {
		md := methods.Get(i)
		list[i] = md
		bindings := a[string(md.FullName())]
		if len(bindings) == 0 {
			continue
		}
		rule := httpRuleOf(md)
		if rule == nil {
			continue
		}
		for n := range bindings {
			aside := &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: fmt.Sprintf("/parigot-set-aside/%s/%d", md.FullName(), n)}}
			switch {
			case n == 0:
				aside.AdditionalBindings = rule.AdditionalBindings
				rule = aside
			case n <= len(rule.AdditionalBindings):
				rule.AdditionalBindings[n-1] = aside
			}
		}
		opts := &descriptorpb.MethodOptions{}
		proto.SetExtension(opts, annotations.E_Http, rule)
		list[i] = asideMethod{MethodDescriptor: md, opts: opts}
		changed = true
	}
	if !changed {
		return sd
	}
	return asideService{ServiceDescriptor: sd, methods: asideMethods{MethodDescriptors: methods, list: list}}
}

// httpRuleOf is a copy of md's google.api.http rule, or nil. The compiler
// gives the option as a message of its own type, which is copied through
// its bytes.
func httpRuleOf(md protoreflect.MethodDescriptor) *annotations.HttpRule {
	opts := md.Options().ProtoReflect()
	xt := annotations.E_Http.TypeDescriptor()
	if !opts.Has(xt) {
		return nil
	}
	b, err := proto.Marshal(opts.Get(xt).Message().Interface())
	if err != nil {
		return nil
	}
	rule := &annotations.HttpRule{}
	if proto.Unmarshal(b, rule) != nil {
		return nil
	}
	return rule
}

// asideService is a service whose methods' rules are some set aside.
type asideService struct {
	protoreflect.ServiceDescriptor
	methods asideMethods
}

func (s asideService) Methods() protoreflect.MethodDescriptors { return s.methods }

type asideMethods struct {
	protoreflect.MethodDescriptors
	list []protoreflect.MethodDescriptor
}

func (m asideMethods) Get(i int) protoreflect.MethodDescriptor { return m.list[i] }

func (m asideMethods) ByName(name protoreflect.Name) protoreflect.MethodDescriptor {
	for _, md := range m.list {
		if md.Name() == name {
			return md
		}
	}
	return nil
}

// asideMethod is a method whose options are its google.api.http rule
// alone, with some of its rules set aside.
type asideMethod struct {
	protoreflect.MethodDescriptor
	opts *descriptorpb.MethodOptions
}

func (m asideMethod) Options() protoreflect.ProtoMessage { return m.opts }
