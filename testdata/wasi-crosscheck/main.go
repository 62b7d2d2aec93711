// Command wasi-crosscheck prints, as JSON sorted by name, the signature of
// every function wazero's wasi_snapshot_preview1 host module exports.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

type signature struct {
	Params  []string `json:"params"`
	Results []string `json:"results"`
}

func typeName(t api.ValueType) string {
	switch t {
	case api.ValueTypeI32:
		return "i32"
	case api.ValueTypeI64:
		return "i64"
	case api.ValueTypeF32:
		return "f32"
	case api.ValueTypeF64:
		return "f64"
	default:
		return api.ValueTypeName(t)
	}
}

func names(ts []api.ValueType) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, typeName(t))
	}
	return out
}

func main() {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)

	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	m := r.Module(wasi_snapshot_preview1.ModuleName)
	if m == nil {
		fmt.Fprintln(os.Stderr, "wasi_snapshot_preview1 host module not found")
		os.Exit(1)
	}

	sigs := map[string]signature{}
	for name, def := range m.ExportedFunctionDefinitions() {
		sigs[name] = signature{Params: names(def.ParamTypes()), Results: names(def.ResultTypes())}
	}
	// encoding/json writes map keys in sorted order.
	out, err := json.MarshalIndent(sigs, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
