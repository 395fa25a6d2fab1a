package seq2expr.ci.nfschema;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
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
        new ParameterValidator(new Settings(session)).validate(schema(options), session.getParams());
        log.debug("Parameters validated against " + schemaPath(options));
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

        Map<String, Object> params = jsonParams();
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
                text.append(String.format("  --%-28s %s %s", name, typeLabel(definition.path("type")),
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

    /** `[string]`, or `[string, integer]` for a list of types, as nf-schema prints them. */
    private static String typeLabel(JsonNode type) {
        if (type.isArray()) {
            List<String> names = new ArrayList<>();
            type.forEach(name -> names.add(name.asText()));
            return names.toString();
        }
        return "[" + type.asText("") + "]";
    }

    // ---------------------------------------------------------------- shared

    private Schema schema(Map<String, Object> options) {
        return Schema.read(schemaPath(options));
    }

    private Path schemaPath(Map<String, Object> options) {
        Object name = options == null ? null : options.get("parameters_schema");
        String file = name == null ? new Settings(session).parametersSchema : name.toString();
        Path path = Path.of(file);
        return path.isAbsolute() ? path : session.getBaseDir().resolve(file);
    }

    @SuppressWarnings("unchecked")
    private String manifest(String key) {
        Object manifest = session.getConfig().get("manifest");
        Object value = manifest instanceof Map ? ((Map<String, Object>) manifest).get(key) : null;
        return value == null ? "" : value.toString();
    }

    /** The run's parameters as plain JSON values. */
    private Map<String, Object> jsonParams() {
        Map<String, Object> params = new TreeMap<>();
        session.getParams().forEach((key, value) -> params.put(key, ParameterValidator.plain(value)));
        return params;
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
}
