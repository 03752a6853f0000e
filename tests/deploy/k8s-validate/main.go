// k8s-validate: strict validation of rendered Kubernetes manifests, offline.
//
// Kubernetes' own kinds are decoded strictly (unknown or duplicate fields, wrong types are
// errors, as with `kubectl apply --validate=strict`) into the k8s.io/api types pinned in go.mod.
// Custom resources are validated against the openAPIV3Schema of the CRDs in the directory given
// (tests/deploy/crds): only versions the CRD serves are accepted, and an object with properties
// the schema does not declare fails unless the schema preserves unknown fields.
//
//	k8s-validate -crds DIR [FILE...]   (no FILE: stdin; multi-document YAML)
//
// Exit 0 every object valid, 1 some object invalid, 2 usage or unreadable input.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Built-in kinds brainfleet's manifests may use, by "apiVersion Kind".
var builtins = map[string]func() any{
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1 Secret":                               func() any { return &corev1.Secret{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"v1 Namespace":                            func() any { return &corev1.Namespace{} },
	"v1 ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1 Job":                            func() any { return &batchv1.Job{} },
	"batch/v1 CronJob":                        func() any { return &batchv1.CronJob{} },
	"policy/v1 PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1 Role":       func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1 RoleBinding": func() any { return &rbacv1.RoleBinding{} },
}

type crdVersion struct {
	served bool
	schema *jsonschema.Schema
}

// group/Kind -> version name -> schema
type crdSet map[string]map[string]crdVersion

func main() {
	crdDir := flag.String("crds", "", "directory of CustomResourceDefinition YAML files")
	flag.Parse()
	if *crdDir == "" {
		fmt.Fprintln(os.Stderr, "usage: k8s-validate -crds DIR [FILE...]")
		os.Exit(2)
	}
	crds, err := loadCRDs(*crdDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
	inputs := flag.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	failed, total := 0, 0
	for _, in := range inputs {
		docs, err := readDocs(in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate:", err)
			os.Exit(2)
		}
		for _, d := range docs {
			total++
			if where, err := validate(crds, d); err != nil {
				failed++
				// One line per object: the check reads this output line by line.
				msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " | ")), " ")
				fmt.Printf("FAIL %s: %s: %s\n", in, where, msg)
			}
		}
	}
	fmt.Printf("k8s-validate: %d object(s), %d invalid\n", total, failed)
	if failed > 0 || total == 0 {
		os.Exit(1)
	}
}

func readDocs(path string) ([][]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	yr := k8syaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		d, err := yr.Read()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
}

func stripComments(d []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(d, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

func validate(crds crdSet, doc []byte) (string, error) {
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "?", fmt.Errorf("not a Kubernetes object: %w", err)
	}
	where := head.Kind + "/" + head.Metadata.Name
	if head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
		return where, fmt.Errorf("apiVersion, kind and metadata.name are required")
	}
	if mk, ok := builtins[head.APIVersion+" "+head.Kind]; ok {
		if err := yaml.UnmarshalStrict(doc, mk()); err != nil {
			return where, err
		}
		return where, nil
	}
	group, version := "", head.APIVersion
	if i := strings.LastIndex(head.APIVersion, "/"); i >= 0 {
		group, version = head.APIVersion[:i], head.APIVersion[i+1:]
	}
	versions, ok := crds[group+"/"+head.Kind]
	if !ok {
		if group == "" || !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io") {
			return where, fmt.Errorf("%s %s is not a Kubernetes API type this check knows (Kubernetes %s types)",
				head.APIVersion, head.Kind, "k8s.io/api")
		}
		return where, fmt.Errorf("no CRD for %s in %s: add its CRD to tests/deploy/crds", group+"/"+head.Kind, "the CRD directory")
	}
	v, ok := versions[version]
	if !ok || !v.served {
		var served []string
		for name, cv := range versions {
			if cv.served {
				served = append(served, name)
			}
		}
		sort.Strings(served)
		return where, fmt.Errorf("%s is not served by the pinned %s CRD (served: %s)", head.APIVersion, head.Kind,
			strings.Join(served, ", "))
	}
	// The CRD's schema says only `type: object` for metadata; the API server checks it as ObjectMeta.
	var meta struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return where, err
	}
	if err := json.Unmarshal(js, &meta); err != nil {
		return where, err
	}
	if err := yaml.UnmarshalStrict(meta.Metadata, &metav1.ObjectMeta{}); err != nil {
		return where, fmt.Errorf("metadata: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return where, err
	}
	if err := v.schema.Validate(inst); err != nil {
		return where, err
	}
	return where, nil
}

func loadCRDs(dir string) (crdSet, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	set := crdSet{}
	for _, f := range files {
		docs, err := readDocs(f)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			var crd struct {
				Kind string `json:"kind"`
				Spec struct {
					Group string `json:"group"`
					Names struct {
						Kind string `json:"kind"`
					} `json:"names"`
					Versions []struct {
						Name   string `json:"name"`
						Served bool   `json:"served"`
						Schema struct {
							OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
						} `json:"schema"`
					} `json:"versions"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(d, &crd); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			key := crd.Spec.Group + "/" + crd.Spec.Names.Kind
			set[key] = map[string]crdVersion{}
			for _, v := range crd.Spec.Versions {
				c := jsonschema.NewCompiler()
				c.DefaultDraft(jsonschema.Draft4)
				url := "file:///crds/" + crd.Spec.Group + "/" + crd.Spec.Names.Kind + "/" + v.Name + ".json"
				if err := c.AddResource(url, strictSchema(v.Schema.OpenAPIV3Schema)); err != nil {
					return nil, fmt.Errorf("%s %s: %w", f, v.Name, err)
				}
				s, err := c.Compile(url)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", f, v.Name, err)
				}
				set[key][v.Name] = crdVersion{served: v.Served, schema: s}
			}
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return set, nil
}

// strictSchema turns a structural OpenAPI v3 schema into JSON Schema draft 4 the way the API
// server reads it: objects with declared properties reject others (the server would prune them;
// strict validation reports them), unless x-kubernetes-preserve-unknown-fields says otherwise;
// int-or-string and nullable become their JSON Schema spelling.
func strictSchema(v any) any {
	switch s := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range s {
			switch k {
			case "properties", "patternProperties", "definitions":
				m := map[string]any{}
				if props, ok := val.(map[string]any); ok {
					for name, p := range props {
						m[name] = strictSchema(p)
					}
				}
				out[k] = m
			case "items", "additionalProperties", "not":
				if b, ok := val.(bool); ok {
					out[k] = b
				} else {
					out[k] = strictSchema(val)
				}
			case "allOf", "anyOf", "oneOf":
				if list, ok := val.([]any); ok {
					l := make([]any, len(list))
					for i, x := range list {
						l[i] = strictSchema(x)
					}
					out[k] = l
				}
			case "description", "default", "example", "x-kubernetes-validations":
				// Not constraints (CEL rules need an API server; they are not checked here).
			default:
				out[k] = val
			}
		}
		if s["x-kubernetes-int-or-string"] == true {
			delete(out, "type")
			out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		}
		if s["nullable"] == true {
			if t, ok := out["type"].(string); ok {
				out["type"] = []any{t, "null"}
			}
		}
		_, hasProps := s["properties"]
		_, hasAdditional := s["additionalProperties"]
		if hasProps && !hasAdditional && s["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		return out
	case []any:
		l := make([]any, len(s))
		for i, x := range s {
			l[i] = strictSchema(x)
		}
		return l
	}
	return v
}
