package seq2expr.ci.nfschema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.harrel.jsonschema.Annotation;
import dev.harrel.jsonschema.Dialects;
import dev.harrel.jsonschema.Error;
import dev.harrel.jsonschema.EvaluatorFactory;
import dev.harrel.jsonschema.FormatEvaluatorFactory;
import dev.harrel.jsonschema.Validator;
import dev.harrel.jsonschema.ValidatorFactory;
import dev.harrel.jsonschema.providers.JacksonNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import nextflow.exception.AbortOperationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * validateParameters() as nf-schema 2.5.1 does it (ParameterValidator, ValidationResult):
 * the parameters are cleaned (every value with Groovy falsehood but 0 left out), validated
 * against the schema, and reported one line each: `* --name (value): error`, root-level errors
 * (a missing required parameter) as `* Missing required parameter(s): name`. Only when no value
 * is wrong are the parameters no schema keyword evaluated looked at: a core Nextflow option given
 * with two hyphens is an error, any other one is reported at `validation.logging.unrecognisedParams`
 * (skip, debug, info, warn — the default — or error).
 */
final class ParameterValidator {
    private static final Logger log = LoggerFactory.getLogger("nextflow.validation");
    /** Options of `nextflow` and `nextflow run` that a user may give with `--` by mistake (nf-schema's list). */
    private static final Set<String> NF_OPTIONS = Set.of(
            "bg", "c", "C", "config", "d", "D", "dockerize", "h", "log", "q", "quiet", "syslog", "v",
            "ansi", "ansi-log", "bucket-dir", "cache", "dsl2", "dump-channels", "dump-hashes", "E", "entry",
            "latest", "lib", "main-script", "N", "name", "offline", "params-file", "pi", "plugins",
            "poll-interval", "pool-size", "profile", "ps", "qs", "queue-size", "r", "resume", "revision",
            "stdin", "stub", "stub-run", "test", "w", "with-charliecloud", "with-conda", "with-dag",
            "with-docker", "with-mpi", "with-notification", "with-podman", "with-report", "with-singularity",
            "with-timeline", "with-tower", "with-trace", "with-weblog", "without-docker", "without-podman",
            "work-dir");
    private static final Pattern REQUIRED = Pattern.compile("\\[\\[([^\\[\\]]*)\\]\\]$");

    private final Settings settings;

    ParameterValidator(Settings settings) {
        this.settings = settings;
    }

    void validate(Schema schema, Map<String, Object> sessionParams) {
        Map<String, Object> params = new LinkedHashMap<>(sessionParams);
        // The help parameters are the plugin's own: never validated
        for (String name : List.of(settings.helpParameter, settings.helpFullParameter, settings.showHiddenParameter)) {
            params.put(name, false);
        }
        Map<String, Object> cleaned = clean(params);
        String json = toJson(cleaned);
        JsonNode input = readJson(json);

        EvaluatorFactory keywords = EvaluatorFactory.compose(new Evaluators(settings.lenientMode), new FormatEvaluatorFactory());
        Validator.Result result = new ValidatorFactory()
                .withDialect(new Dialects.Draft2020Dialect())
                .withJsonNodeFactory(new JacksonNode.Factory())
                .withEvaluatorFactory(keywords)
                .validate(schema.text, json);

        List<String> errors = new ArrayList<>();
        for (Error error : result.getErrors()) {
            String line = errorLine(error, input, schema.root);
            if (line != null) {
                errors.add(line);
            }
        }
        if (errors.isEmpty()) {
            List<String> unexpected = new ArrayList<>();
            for (String name : unevaluated(result, input)) {
                String dotted = name.replace('/', '.');
                if (NF_OPTIONS.contains(name)) {
                    errors.add("You used a core Nextflow option with two hyphens: '--" + name + "'. Please resubmit with '-" + name + "'");
                } else if (settings.ignoreParams.stream().noneMatch(ignored -> dotted.equals(ignored) || dotted.startsWith(ignored + "."))) {
                    unexpected.add("* --" + dotted + ": " + text(input.at("/" + name)));
                }
            }
            if (!unexpected.isEmpty()) {
                report("The following invalid input values have been detected:\n\n" + String.join("\n", unexpected).trim() + "\n\n");
            }
        }
        List<String> shown = errors.stream()
                .filter(error -> settings.ignoreParams.stream().noneMatch(ignored -> error.startsWith("* --" + ignored)))
                .toList();
        if (!shown.isEmpty()) {
            log.error("Validation of pipeline parameters failed!");
            throw new AbortOperationException(
                    "The following invalid input values have been detected:\n\n" + String.join("\n", shown).trim() + "\n\n");
        }
    }

    /** One error as nf-schema prints it; null for allOf's own summary line. */
    private String errorLine(Error error, JsonNode input, JsonNode schemaRoot) {
        String message = error.getError();
        if (message.startsWith("Value does not match against the schemas at indexes")) {
            return null;
        }
        String location = error.getInstanceLocation();
        String value = text(location.isEmpty() ? input : input.at(location));
        int limit = settings.maxErrValSize;
        if (limit >= 1 && value.length() > limit) {
            value = value.substring(0, limit / 2) + "..." + value.substring(value.length() - limit / 2);
        }
        if ("required".equals(error.getKeyword())) {
            Matcher missing = REQUIRED.matcher(message);
            message = "Missing required parameter(s): " + (missing.find() ? missing.group(1) : message);
        }
        String schemaLocation = error.getSchemaLocation().replaceFirst("^[^#]+", "").replaceFirst("^#", "");
        JsonNode custom = schemaRoot.at(schemaLocation + "/errorMessage");
        String name = String.join(".", List.of(location.split("/")).stream().filter(part -> !part.isEmpty()).toList());
        String line = name.isEmpty() ? "* " + message : "* --" + name + " (" + value + "): " + message;
        return custom.isTextual() ? line + " (" + custom.asText() + ")" : line;
    }

    /** The given parameters no `properties`-like keyword evaluated (a `--foo-bar` twin of an evaluated `fooBar` excepted). */
    private static List<String> unevaluated(Validator.Result result, JsonNode input) {
        Set<String> evaluated = new LinkedHashSet<>();
        for (Annotation annotation : result.getAnnotations()) {
            if (List.of("properties", "patternProperties", "additionalProperties").contains(annotation.getKeyword())
                    && annotation.getAnnotation() instanceof Collection<?> names) {
                for (Object name : names) {
                    evaluated.add((annotation.getInstanceLocation() + "/" + name).replaceAll("^/+", ""));
                }
            }
        }
        Set<String> keys = new LinkedHashSet<>();
        allKeys(input, null, keys);
        keys.removeAll(evaluated);
        return keys.stream().filter(key -> !evaluated.contains(kebabToCamel(key))).toList();
    }

    private static void allKeys(JsonNode node, String key, Set<String> keys) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> allKeys(e.getValue(), key == null ? e.getKey() : key + "/" + e.getKey(), keys));
        } else if (key != null) {
            keys.add(key);
        }
    }

    private static String kebabToCamel(String name) {
        Matcher matcher = Pattern.compile("-([A-Za-z0-9])").matcher(name);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            matcher.appendReplacement(out, matcher.group(1).toUpperCase());
        }
        return matcher.appendTail(out).toString();
    }

    private void report(String message) {
        switch (settings.unrecognisedParams) {
            case "skip" -> { }
            case "debug" -> log.debug(message);
            case "info" -> log.info(message);
            case "error" -> throw new AbortOperationException(message);
            default -> log.warn(message);
        }
    }

    /** nf-schema's cleanParameters: values of Groovy falsehood (null, false, "", empty lists and maps) left out, numbers kept. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> clean(Map<String, Object> params) {
        Map<String, Object> out = new LinkedHashMap<>();
        params.forEach((key, value) -> {
            Object plain = plain(value);
            if (plain instanceof Map<?, ?> map) {
                plain = clean((Map<String, Object>) map);
            }
            if (plain instanceof Number || truthy(plain)) {
                out.put(key, plain);
            }
        });
        return out;
    }

    private static boolean truthy(Object value) {
        if (value == null || Boolean.FALSE.equals(value)) {
            return false;
        }
        if (value instanceof String text) {
            return !text.isEmpty();
        }
        if (value instanceof Collection<?> list) {
            return !list.isEmpty();
        }
        return !(value instanceof Map<?, ?> map) || !map.isEmpty();
    }

    /** A parameter as a plain JSON value: numbers and booleans kept, maps and lists walked, anything else its text. */
    static Object plain(Object value) {
        if (value == null || value instanceof Boolean || value instanceof Number) {
            return value;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(String.valueOf(k), plain(v)));
            return out;
        }
        if (value instanceof Collection<?> list) {
            return list.stream().map(ParameterValidator::plain).toList();
        }
        return value.toString();
    }

    private static String text(JsonNode node) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            return "";
        }
        return node.isValueNode() ? node.asText() : node.toString();
    }

    static String toJson(Object value) {
        try {
            return new ObjectMapper().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readJson(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
