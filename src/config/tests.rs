//! The config's unit tests and its fuzz test.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::naming::is_valid_tool_name;

mod load_and_validate {
    use super::*;

    fn invalid(text: &str) -> String {
        match Config::parse(text, "test.toml") {
            Ok(_) => panic!("config was accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn aliases_that_could_name_two_tools_alike_load() {
        // Whether `a` and `a_b` (or `await` and the built-in `await_job`)
        // really want one name is known only once the Spaces are read:
        // the registry decides then (tools::claims), the config loads.
        for text in [
            "[spaces.await]\nspace = \"a/b\"\n",
            "[spaces.a]\nspace = \"a/b\"\n[spaces.a_b]\nspace = \"c/d\"\n",
            "[spaces.flux]\nspace = \"a/b\"\n[spaces.flux_dev]\nspace = \"c/d\"\n",
        ] {
            let config = Config::parse(text, "t").unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!config.spaces.is_empty());
        }
    }

    #[test]
    fn the_hub_tools_alone_are_a_config() {
        let config = Config::parse("[hub]\ntools = true\n", "t").expect("hub tools alone");
        assert!(config.tools.is_empty() && config.spaces.is_empty());
        assert!(config.settings.hub.tools);
        let e = invalid("[hub]\ntools = false\n");
        assert!(
            e.contains("no tool is defined") && e.contains("[hub] tools = true"),
            "{e}"
        );
    }

    #[test]
    fn the_built_in_config_loads_and_defines_the_two_tools() {
        let config = Config::load(None).expect("built-in config");
        let names: Vec<&str> = config.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["generate_image", "run_dia_tts"]);
        let image = &config.tools[0];
        assert_eq!(image.space.to_string(), "ysharma/SanaSprint");
        assert_eq!(image.api, "/infer");
        assert_eq!(
            image.inputs["model_size"],
            InputConfig::Fixed(Value::from("0.6B"))
        );
        let InputConfig::Exposed(width) = &image.inputs["width"] else {
            panic!("width is exposed")
        };
        assert_eq!(width.default, Some(Value::from(512)));
        assert_eq!((width.minimum, width.maximum), (Some(256.0), Some(2048.0)));
        assert!(image.send_hf_token);
        let tts = &config.tools[1];
        assert_eq!(tts.space.to_string(), "ysharma/Dia-1.6B");
        assert_eq!(tts.api, "/generate_audio");
        assert!(tts.description.contains("[S1]") && tts.description.contains("[S2]"));
    }

    #[test]
    fn a_minimal_tool_needs_only_space_and_api() {
        let config = Config::parse(
            "[tools.echo]\nspace = \"http://127.0.0.1:7860\"\napi = \"predict\"\n",
            "t",
        )
        .unwrap();
        let tool = &config.tools[0];
        assert_eq!(tool.api, "/predict");
        assert_eq!(tool.limits, CallLimits::default());
        assert!(
            !tool.send_hf_token,
            "a plain URL gets no HF token unless asked"
        );
    }

    #[test]
    fn the_longest_timeout_counts_spaces_tables_too() {
        let config = Config::parse(
            "[tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = 5\n[spaces.s]\nspace = \"c/d\"\ntimeout = 600\n",
            "t",
        )
        .unwrap();
        assert_eq!(config.longest_timeout(), Duration::from_secs(600));
    }

    #[test]
    fn tool_limits_override_settings() {
        let config = Config::parse(
            "[settings]\ntimeout = 30\ninline_max_bytes = 10\n[tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = 5\n",
            "t",
        )
        .unwrap();
        let limits = &config.tools[0].limits;
        assert_eq!(limits.timeout, Duration::from_secs(5));
        assert_eq!(limits.inline_max_bytes, 10);
    }

    #[test]
    fn jobs_settings_default_override_and_refuse_bad_values() {
        let tool = "[tools.a]\nspace = \"a/b\"\napi = \"/x\"\n";
        let config = Config::parse(tool, "t").unwrap();
        let limits = &config.tools[0].limits;
        assert_eq!(limits.detach_after, Some(DEFAULT_DETACH_AFTER));
        assert_eq!(limits.task_support, TaskSupport::Optional);
        assert_eq!(config.settings.jobs, JobSettings::default());
        assert_eq!(config.settings.jobs.ttl, Duration::from_secs(3600));

        let config = Config::parse(
            "[settings]\ndetach_after = 0\njob_ttl = 60\njob_store_max_results = 5\n\
             [tools.a]\nspace = \"a/b\"\napi = \"/x\"\ntask_support = \"required\"\n\
             [tools.b]\nspace = \"a/b\"\napi = \"/y\"\ndetach_after = 3\ntask_support = \"forbidden\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(config.tools[0].limits.detach_after, None);
        assert_eq!(config.tools[0].limits.task_support, TaskSupport::Required);
        assert_eq!(
            config.tools[1].limits.detach_after,
            Some(Duration::from_secs(3))
        );
        assert_eq!(config.tools[1].limits.task_support, TaskSupport::Forbidden);
        assert_eq!(config.settings.jobs.ttl, Duration::from_secs(60));
        assert_eq!(config.settings.jobs.max_results, 5);

        let e = invalid(&format!("{tool}task_support = \"sometimes\"\n"));
        assert!(e.contains("task_support") || e.contains("sometimes"), "{e}");
        let e = invalid(&format!("{tool}detach_after = -1\n"));
        assert!(e.contains("tools.a.detach_after"), "{e}");
        let e = invalid(&format!("[settings]\njob_ttl = 0\n{tool}"));
        assert!(e.contains("settings.job_ttl"), "{e}");
        let e = invalid("[tools.await_job]\nspace = \"a/b\"\napi = \"/x\"\n");
        assert!(e.contains("built-in tool"), "{e}");
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_was_expected() {
        let e = invalid("[tools.\"bad name\"]\nspace = \"a/b\"\napi = \"/x\"\n");
        assert!(e.starts_with("test.toml: tools.bad name:"), "{e}");

        let e = invalid("[tools.t]\nspace = \"not a space\"\napi = \"/x\"\n");
        assert!(e.contains("tools.t.space"), "{e}");

        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x?y=1\"\n");
        assert!(e.contains("tools.t.api"), "{e}");

        let e = invalid(&format!(
            "[settings]\ndownload_max_bytes = {}\n[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n",
            u64::MAX
        ));
        assert!(
            e.contains("settings.download_max_bytes") && e.contains("from 1 to"),
            "{e}"
        );

        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\ntimeout = -1\n");
        assert!(
            e.contains("tools.t.timeout") && e.contains("above 0"),
            "{e}"
        );

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ndefault = 100\nminimum = 256\n",
        );
        assert!(
            e.contains("tools.t.inputs.w") && e.contains("below the minimum 256"),
            "{e}"
        );

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\nvalue = 1\ndescription = \"d\"\n",
        );
        assert!(e.contains("fixed `value`"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ndescription = \"d\"\n",
        );
        assert!(e.contains("`type`"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\ntype = \"string\"\nminimum = 1\n",
        );
        assert!(e.contains("numeric type"), "{e}");

        let e = invalid(
            "[tools.t]\nspace = \"a/b\"\napi = \"/x\"\n[tools.t.inputs.w]\nenum = [\"a\", 1]\n",
        );
        assert!(e.contains("not of type string"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_syntax_are_refused_with_their_place() {
        let e = invalid("[tools.t]\nspace = \"a/b\"\napi = \"/x\"\ntimeuot = 3\n");
        assert!(e.starts_with("test.toml:") && e.contains("timeuot"), "{e}");
        let e = invalid("[tools.t\n");
        assert!(e.contains("line 1"), "{e}");
        let e = invalid("[tools.t]\napi = \"/x\"\n");
        assert!(e.contains("space"), "{e}");
        let e = invalid("");
        assert!(e.contains("no tool is defined"), "{e}");
    }

    #[test]
    fn types_are_inferred_from_defaults_choices_and_bounds() {
        let config = Config::parse(
            r#"
            [tools.t]
            space = "a/b"
            api = "/x"
            inputs.a = { default = 3 }
            inputs.b = { default = 0.5 }
            inputs.c = { enum = ["x", "y"] }
            inputs.d = { minimum = 1 }
            inputs.e = { default = true }
            "#,
            "t",
        )
        .unwrap();
        let kinds: Vec<ValueKind> = config.tools[0]
            .inputs
            .values()
            .map(|i| match i {
                InputConfig::Exposed(e) => e.kind,
                InputConfig::Fixed(_) => unreachable!(),
            })
            .collect();
        use ValueKind::*;
        assert_eq!(kinds, [Integer, Number, String, Number, Boolean]);
    }

    #[test]
    fn checks_say_what_is_wrong() {
        let input = ExposedInput {
            kind: ValueKind::Integer,
            description: None,
            default: None,
            minimum: Some(256.0),
            maximum: Some(2048.0),
            choices: None,
            required: false,
            shape: None,
        };
        assert!(input.check(&Value::from(512)).is_ok());
        assert!(input.check(&serde_json::json!(512.0)).is_ok());
        assert!(
            input
                .check(&serde_json::json!(512.5))
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            input
                .check(&Value::from("512"))
                .unwrap_err()
                .contains("string \"512\"")
        );
        assert!(
            input
                .check(&Value::from(4096))
                .unwrap_err()
                .contains("above the maximum 2048")
        );
    }
}

/// A bounded fuzz pass: no config text, however odd, panics the loader;
/// it loads or says what is wrong.
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Lines built from the config's own vocabulary, so most cases get past
    /// the TOML parser and reach validation.
    fn config_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("space"),
            Just("api"),
            Just("timeout"),
            Just("idle_timeout"),
            Just("inline_max_bytes"),
            Just("download_max_bytes"),
            Just("hf_token"),
            Just("hub_id"),
            Just("type"),
            Just("default"),
            Just("minimum"),
            Just("maximum"),
            Just("enum"),
            Just("value"),
            Just("required"),
            Just("description"),
            Just("space_concurrency"),
            Just("output_dir"),
            Just("input_dirs"),
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            Just("true".to_string()),
            Just("\"a/b\"".to_string()),
            Just("\"http://127.0.0.1:1\"".to_string()),
            Just("\"/x\"".to_string()),
            Just("\"string\"".to_string()),
            Just("\"integer\"".to_string()),
            Just("[1, \"a\"]".to_string()),
            "\"[ -~]{0,12}\"".prop_map(|s| s.replace('\\', "")),
        ];
        let table = prop_oneof![
            Just("[settings]".to_string()),
            "[a-z]{1,4}".prop_map(|n| format!("[tools.{n}]")),
            "[a-z]{1,4}".prop_map(|n| format!("[tools.{n}.inputs.p]")),
            "[a-z]{1,4}".prop_map(|n| format!("[spaces.{n}]")),
        ];
        let line = prop_oneof![
            table,
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            ".{0,30}",
        ];
        proptest::collection::vec(line, 0..16).prop_map(|lines| lines.join("\n"))
    }

    /// The built-in config, mutated.
    fn default_config_mutated() -> impl Strategy<Value = String> {
        crate::fuzzing::mutated_text(vec![crate::config::DEFAULT_CONFIG.as_bytes()])
    }

    proptest! {
        #![proptest_config(crate::fuzzing::cases(3000))]

        #[test]
        fn fuzz_the_default_config_mutated(text in default_config_mutated()) {
            match Config::parse(&text, "fuzz.toml") {
                Ok(config) => {
                    for tool in &config.tools {
                        prop_assert!(is_valid_tool_name(&tool.name));
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with("fuzz.toml")),
            }
        }

        #[test]
        fn fuzz_no_config_panics_the_loader(text in config_text()) {
            match Config::parse(&text, "fuzz.toml") {
                Ok(config) => {
                    prop_assert!(!config.tools.is_empty() || !config.spaces.is_empty());
                    for tool in &config.tools {
                        prop_assert!(is_valid_tool_name(&tool.name));
                        prop_assert!(tool.limits.download_max_bytes <= MAX_DOWNLOAD_BYTES);
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with("fuzz.toml")),
            }
        }
    }
}
