//! Plain-text reports for people. Every name, version, path and message that came from the
//! module, the policy or the command line goes through [`p`] (`text::printable`): a module
//! cannot write to the terminal through its import names, nor forge a line of the report.

use super::Style;
use crate::check::CheckReport;
use crate::text::printable as p;
use crate::wasm::inspect::{Inspection, Kind, Warning};
use std::fmt::Write;

/// A component's world and the interfaces it imports, under a `check` verdict.
fn world(o: &mut String, m: &Inspection) {
    if let Some(world) = &m.world {
        let imports: Vec<_> = m.imports.iter().map(|i| p(&i.module)).collect();
        let _ = writeln!(o, "  world {}: imports {}", p(world), imports.join(", "));
    }
}

/// The `inspect` report.
pub fn inspect(m: &Inspection, file: &str, s: Style) -> String {
    let mut o = String::new();
    let kind = match m.kind {
        Kind::CoreModule => "core module",
        Kind::Component => "component",
    };
    let _ = writeln!(o, "{}", s.bold(&p(file)));
    let _ = writeln!(o, "  kind        {kind}, {} bytes", m.size);
    let _ = writeln!(o, "  sha256      {}", m.sha256);
    let _ = writeln!(o, "  abi         {} ({})", m.abi.id(), m.abi_description);
    if let Some(world) = &m.world {
        let _ = writeln!(o, "  world       {}", p(world));
    }
    let mut tool = p(&m.toolchain.name).into_owned();
    if let Some(v) = &m.toolchain.version {
        let _ = write!(tool, " {}", p(v));
    }
    let _ = writeln!(o, "  toolchain   {tool}");
    if let Some(features) = &m.features {
        let list = if features.is_empty() {
            "none beyond the MVP".to_string()
        } else {
            features.join(", ")
        };
        let _ = writeln!(o, "  features    {list}");
    }
    let _ = writeln!(
        o,
        "  start       {}",
        m.start
            .map_or("none".to_string(), |f| format!("function {f}"))
    );
    for (i, mem) in m.memories.iter().enumerate() {
        let max = mem
            .maximum_pages
            .map_or("no maximum".to_string(), |p| format!("maximum {p}"));
        let mut flags = String::new();
        if mem.imported {
            flags.push_str(", imported");
        }
        if mem.shared {
            flags.push_str(", shared");
        }
        if mem.memory64 {
            flags.push_str(", 64-bit");
        }
        let _ = writeln!(
            o,
            "  memory {i}    {} pages initial, {max}{flags}",
            mem.initial_pages
        );
    }
    for (i, t) in m.tables.iter().enumerate() {
        let max = t
            .maximum
            .map_or("no maximum".to_string(), |p| format!("maximum {p}"));
        let _ = writeln!(
            o,
            "  table {i}     {} {} initial, {max}",
            t.element_type, t.initial
        );
    }
    warnings(&mut o, &m.warnings, "  warning     ", s);

    let declared: u32 = m.imports.iter().map(|i| i.count).sum();
    let _ = writeln!(
        o,
        "\n{} ({} distinct, {declared} declared)",
        s.bold("imports"),
        m.imports.len()
    );
    // Grouped by module in the order modules first appear, in one pass: a hostile module
    // may have hundreds of thousands of distinct import modules.
    let mut modules: Vec<(&str, Vec<&crate::wasm::inspect::Import>)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for i in &m.imports {
        let k = *at.entry(i.module.as_str()).or_insert_with(|| {
            modules.push((i.module.as_str(), Vec::new()));
            modules.len() - 1
        });
        modules[k].1.push(i);
    }
    for (module, imports) in modules {
        let _ = writeln!(o, "  {}", p(module));
        for i in imports {
            let times = if i.count > 1 {
                format!(" (x{})", i.count)
            } else {
                String::new()
            };
            let sig = i
                .signature_text
                .clone()
                .unwrap_or_else(|| i.kind.to_string());
            let caps: Vec<&str> = i.capabilities.iter().map(|c| c.name()).collect();
            let name = if i.name.is_empty() {
                "(instance)".into()
            } else {
                p(&i.name)
            };
            let _ = writeln!(
                o,
                "    {:<28} {:<40} {}",
                format!("{name}{times}"),
                sig,
                s.dim(&caps.join(", "))
            );
        }
    }
    if !m.capabilities.is_empty() {
        let _ = writeln!(o, "\n{}", s.bold("capabilities"));
        for (cap, names) in &m.capabilities {
            let _ = writeln!(o, "  {:<17} {}", cap.name(), p(&names.join(", ")));
        }
    }
    let _ = writeln!(o, "\n{} ({})", s.bold("exports"), m.exports.len());
    for e in &m.exports {
        let _ = writeln!(o, "  {:<28} {}", p(&e.name), e.kind);
    }
    let _ = writeln!(o, "\n{}", s.bold("sections"));
    for sec in &m.sections {
        let name = match &sec.name {
            Some(n) => format!("custom \"{}\"", p(n)),
            None => sec.kind.to_string(),
        };
        let _ = writeln!(
            o,
            "  {:<28} {:>10} bytes at {:#x}",
            name, sec.size, sec.offset
        );
    }
    if let Some(info) = &m.go_build_info {
        let _ = writeln!(
            o,
            "\n{} ({} dependencies)",
            s.bold("go build info"),
            info.deps.len()
        );
        let _ = writeln!(o, "  path  {}", p(&info.path));
        if let Some(main) = &info.main {
            let _ = writeln!(o, "  mod   {} {}", p(&main.path), p(&main.version));
        }
        for dep in &info.deps {
            let _ = write!(o, "  dep   {} {}", p(&dep.path), p(&dep.version));
            if let Some(r) = &dep.replace {
                let _ = write!(o, " => {} {}", p(&r.path), p(&r.version));
            }
            o.push('\n');
        }
        for (k, v) in &info.settings {
            let _ = writeln!(o, "  build {}={}", p(k), p(v));
        }
    }
    o
}

/// The `check` report: a verdict line, then one block per violation.
pub fn check(r: &CheckReport, file: &str, s: Style) -> String {
    let mut o = String::new();
    let m = &r.module;
    let (file, policy) = (p(file), p(&r.policy));
    if r.passed {
        let _ = writeln!(
            o,
            "{} {file}: {} passes policy `{}` ({} imports, {} bytes)",
            s.green("PASS"),
            m.abi.id(),
            policy,
            m.imports.len(),
            m.size
        );
        world(&mut o, m);
        warnings(&mut o, &m.warnings, "  warning: ", s);
        return o;
    }
    let n = r.violations.len();
    let _ = writeln!(
        o,
        "{} {file}: {n} violation{} of policy `{}` ({})",
        s.red("FAIL"),
        if n == 1 { "" } else { "s" },
        policy,
        m.abi.id()
    );
    world(&mut o, m);
    warnings(&mut o, &m.warnings, "  warning: ", s);
    for v in &r.violations {
        let _ = writeln!(o, "  {}[{}] {}", s.red("error"), v.rule, p(&v.message));
        let mut place = Vec::new();
        if let Some(off) = v.offset {
            place.push(format!("at offset {off:#x}"));
        }
        if let Some(origin) = &v.policy_location {
            place.push(format!("rule set at {}:{}", p(&origin.file), origin.line));
        }
        if !place.is_empty() {
            let _ = writeln!(o, "    {}", s.dim(&place.join("; ")));
        }
        if let Some(hint) = &v.hint {
            let _ = writeln!(o, "    {} {}", s.yellow("hint:"), p(hint));
        }
    }
    o
}

/// One line per warning, after `lead`: `MESSAGE (at offset 0x..)`.
pub fn warnings(o: &mut String, warnings: &[Warning], lead: &str, s: Style) {
    for w in warnings {
        let _ = writeln!(
            o,
            "{}{} {}",
            s.yellow(lead),
            p(&w.message),
            s.dim(&format!("(at offset {:#x})", w.offset))
        );
    }
}
