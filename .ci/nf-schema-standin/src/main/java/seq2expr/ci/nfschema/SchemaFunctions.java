package seq2expr.ci.nfschema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.harrel.jsonschema.Dialects;
import dev.harrel.jsonschema.Error;
import dev.harrel.jsonschema.Validator;
import dev.harrel.jsonschema.ValidatorFactory;
import dev.harrel.jsonschema.providers.JacksonNode;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import nextflow.Session;
import nextflow.exception.AbortOperationException;
import nextflow.plugin.extension.Function;
import nextflow.plugin.extension.PluginExtensionPoint;
import nextflow.script.WorkflowMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The four nf-schema functions seq2expr calls: validateParameters, paramsSummaryMap,
 * paramsSummaryLog and paramsHelp. Written for CI only, where the plugin registry cannot be
 * reached; see README.md for what the real plugin does that this one does not.
 */
public class SchemaFunctions extends PluginExtensionPoint {
    private static final Logger log = LoggerFactory.getLogger("nextflow.validation");
    private static final List<String> PATH_FORMATS = List.of("file-path", "directory-path", "path");

    private Session session;

    @Override
    protected void init(Session session) {
        this.session = session;
    }

    // ---------------------------------------------------------------- validateParameters

    @Function
    public void validateParameters() {
        validateParameters(Map.of());
    }

    @Function
    public void validateParameters(Map<String, Object> options) {
        Schema schema = schema(options);
        // As nf-schema does, unset (null) parameters are left out: the schema types the value a
        // user may give, and every optional parameter defaults to null.
        Map<String, Object> params = jsonParams(schema);
        params.values().removeIf(value -> value == null);
        List<String> errors = new ArrayList<>();

        Validator.Result result = new ValidatorFactory()
                .withDialect(new Dialects.Draft2020Dialect())
                .withJsonNodeFactory(new JacksonNode.Factory())
                .validate(schema.text, toJson(params));
        for (Error error : result.getErrors()) {
            String location = error.getInstanceLocation();
            String name = location.startsWith("/") ? location.substring(1) : location;
            if (name.isEmpty()) {
                // allOf's own summary ("does not match the schemas at indexes ..."): the
                // parameter-level errors below it say what is wrong.
                continue;
            } else {
                errors.add("* --" + name + " (" + params.get(name) + "): " + error.getError());
            }
        }
        errors.addAll(missingPaths(schema, params));

        List<String> unknown = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!schema.parameters.containsKey(name) && !isCamelCaseTwin(name, params.keySet())) {
                unknown.add("* --" + name + ": " + params.get(name));
            }
        }
        if (!unknown.isEmpty()) {
            String message = "The following invalid input values have been detected:\n\n" + String.join("\n", unknown);
            if (Boolean.TRUE.equals(config("failUnrecognisedParams"))) {
                errors.addAll(unknown);
            } else {
                log.warn(message);
            }
        }
        if (!errors.isEmpty()) {
            // One error per line, each naming the parameter; uniq keeps one line per message.
            List<String> lines = errors.stream().distinct().toList();
            throw new AbortOperationException(
                    "Validation of pipeline parameters failed!\nThe following invalid input values have been detected:\n\n"
                            + String.join("\n", lines) + "\n");
        }
        log.debug("Parameters validated against " + schemaPath(options));
    }

    /** `exists: true` on a path-formatted parameter: the local file or folder must be there. */
    private static List<String> missingPaths(Schema schema, Map<String, Object> params) {
        List<String> errors = new ArrayList<>();
        schema.parameters.forEach((name, definition) -> {
            Object value = params.get(name);
            String format = definition.path("format").asText("");
            if (!(value instanceof String text) || text.isEmpty() || text.contains("://")
                    || !definition.path("exists").asBoolean(false) || !PATH_FORMATS.contains(format)) {
                return;
            }
            Path path = Path.of(text);
            if (!Files.exists(path)) {
                errors.add("* --" + name + " (" + text + "): the file or directory '" + text + "' does not exist");
            } else if (format.equals("file-path") && Files.isDirectory(path)) {
                errors.add("* --" + name + " (" + text + "): '" + text + "' is a directory, not a file");
            } else if (format.equals("directory-path") && !Files.isDirectory(path)) {
                errors.add("* --" + name + " (" + text + "): '" + text + "' is not a directory");
            }
        });
        return errors;
    }

    /** Nextflow stores `--foo-bar` both as `foo-bar` and `fooBar`; only one is the user's. */
    private static boolean isCamelCaseTwin(String name, Collection<String> names) {
        if (name.contains("-") || name.chars().noneMatch(Character::isUpperCase)) {
            return false;
        }
        String kebab = name.replaceAll("([A-Z])", "-$1").toLowerCase();
        return names.contains(kebab);
    }

    // ---------------------------------------------------------------- summary

    @Function
    public Map<String, Map<String, Object>> paramsSummaryMap(WorkflowMetadata workflow) {
        return paramsSummaryMap(Map.of(), workflow);
    }

    @Function
    public Map<String, Map<String, Object>> paramsSummaryMap(Map<String, Object> options, WorkflowMetadata workflow) {
        Schema schema = schema(options);
        Map<String, Map<String, Object>> summary = new LinkedHashMap<>();
        Map<String, Object> core = new LinkedHashMap<>();
        core.put("runName", workflow.getRunName());
        if (workflow.getContainerEngine() != null) {
            core.put("containerEngine", workflow.getContainerEngine());
        }
        core.put("launchDir", workflow.getLaunchDir());
        core.put("workDir", workflow.getWorkDir());
        core.put("projectDir", workflow.getProjectDir());
        core.put("userName", workflow.getUserName());
        core.put("profile", workflow.getProfile());
        core.put("configFiles", String.join(", ", workflow.getConfigFiles().stream().map(Object::toString).toList()));
        summary.put("Core Nextflow options", core);

        Map<String, Object> params = jsonParams(schema);
        schema.groups.forEach((title, members) -> {
            Map<String, Object> changed = new LinkedHashMap<>();
            for (String name : members.keySet()) {
                Object value = params.get(name);
                if (value != null && !"".equals(value) && !sameValue(value, schema.defaultValue(name))) {
                    changed.put(name, value);
                }
            }
            summary.put(title, changed);
        });
        return summary;
    }

    @Function
    public String paramsSummaryLog(WorkflowMetadata workflow) {
        return paramsSummaryLog(Map.of(), workflow);
    }

    @Function
    public String paramsSummaryLog(Map<String, Object> options, WorkflowMetadata workflow) {
        Map<String, Map<String, Object>> summary = paramsSummaryMap(options, workflow);
        int width = summary.values().stream().flatMap(group -> group.keySet().stream())
                .mapToInt(String::length).max().orElse(10);
        StringBuilder text = new StringBuilder();
        String rule = "-".repeat(54);
        text.append(rule).append('\n');
        text.append(manifest("name")).append(' ').append(manifest("version")).append('\n');
        text.append(rule).append('\n');
        summary.forEach((group, members) -> {
            if (members.isEmpty()) {
                return;
            }
            text.append(group).append('\n');
            members.forEach((name, value) ->
                    text.append("  ").append(String.format("%-" + width + "s", name)).append(": ").append(value).append('\n'));
            text.append('\n');
        });
        text.append("!! Only displaying parameters that differ from the pipeline defaults !!\n");
        text.append(rule);
        return text.toString();
    }

    // ---------------------------------------------------------------- help

    @Function
    public String paramsHelp() {
        return paramsHelp(Map.of(), "");
    }

    @Function
    public String paramsHelp(Map<String, Object> options) {
        return paramsHelp(options, "");
    }

    @Function
    public String paramsHelp(Map<String, Object> options, String parameter) {
        Schema schema = schema(options);
        boolean showHidden = Boolean.TRUE.equals(options.get("showHidden"));
        boolean full = Boolean.TRUE.equals(options.get("fullHelp"));
        StringBuilder text = new StringBuilder();
        if (parameter != null && !parameter.isEmpty()) {
            JsonNode definition = schema.parameters.get(parameter);
            if (definition == null) {
                throw new AbortOperationException("No parameter --" + parameter + " in " + schemaPath(options).getFileName());
            }
            text.append("--").append(parameter).append('\n');
            definition.fields().forEachRemaining(e -> text.append("    ").append(e.getKey()).append(": ").append(e.getValue()).append('\n'));
            return text.toString();
        }
        Object command = options.get("command");
        if (command != null) {
            text.append("Typical pipeline command:\n\n  ").append(command).append("\n\n");
        }
        schema.groups.forEach((title, members) -> {
            Map<String, JsonNode> shown = new TreeMap<>();
            members.forEach((name, definition) -> {
                if (showHidden || !definition.path("hidden").asBoolean(false)) {
                    shown.put(name, definition);
                }
            });
            if (shown.isEmpty()) {
                return;
            }
            text.append(title).append('\n');
            shown.forEach((name, definition) -> {
                text.append(String.format("  --%-28s [%s] %s", name, definition.path("type").asText(""),
                        definition.path("description").asText("")));
                if (definition.has("default")) {
                    text.append(" (default: ").append(definition.get("default").asText()).append(')');
                }
                text.append('\n');
                if (full && definition.has("help_text")) {
                    text.append("      ").append(definition.get("help_text").asText()).append('\n');
                }
            });
            text.append('\n');
        });
        text.append("Run with --help_full to see every parameter's help text, --show_hidden for hidden ones.");
        return text.toString();
    }

    // ---------------------------------------------------------------- shared

    private Schema schema(Map<String, Object> options) {
        return Schema.read(schemaPath(options));
    }

    private Path schemaPath(Map<String, Object> options) {
        Object name = options == null ? null : options.get("parameters_schema");
        if (name == null) {
            name = config("parametersSchema");
        }
        String file = name == null ? "nextflow_schema.json" : name.toString();
        Path path = Path.of(file);
        return path.isAbsolute() ? path : session.getBaseDir().resolve(file);
    }

    @SuppressWarnings("unchecked")
    private Object config(String option) {
        Object scope = session.getConfig().get("validation");
        return scope instanceof Map ? ((Map<String, Object>) scope).get(option) : null;
    }

    @SuppressWarnings("unchecked")
    private String manifest(String key) {
        Object manifest = session.getConfig().get("manifest");
        Object value = manifest instanceof Map ? ((Map<String, Object>) manifest).get(key) : null;
        return value == null ? "" : value.toString();
    }

    /** The run's parameters as plain JSON values; strings stay strings where the schema says so. */
    private Map<String, Object> jsonParams(Schema schema) {
        Map<String, Object> params = new TreeMap<>();
        session.getParams().forEach((key, value) -> {
            Object plain = plain(value);
            if ("string".equals(schema.type(key)) && (plain instanceof Number || plain instanceof Boolean)) {
                plain = plain.toString();
            }
            params.put(key, plain);
        });
        return params;
    }

    private static Object plain(Object value) {
        if (value == null || value instanceof Boolean || value instanceof Number) {
            return value;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(String.valueOf(k), plain(v)));
            return out;
        }
        if (value instanceof Collection<?> list) {
            return list.stream().map(SchemaFunctions::plain).toList();
        }
        return value.toString();
    }

    private static boolean sameValue(Object value, Object reference) {
        if (value instanceof Number a && reference instanceof Number b) {
            return new BigDecimal(a.toString()).compareTo(new BigDecimal(b.toString())) == 0;
        }
        if (reference == null) {
            return Boolean.FALSE.equals(value);
        }
        return value.toString().equals(reference.toString());
    }

    private static String toJson(Object value) {
        try {
            return new ObjectMapper().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
