package seq2expr.ci.nfschema;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import nextflow.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The `validation` config scope as nf-schema 2.5.1 reads it (ValidationConfig, LoggingConfig,
 * HelpConfig): the same option names, defaults and fall-backs on a wrongly typed value.
 */
final class Settings {
    private static final Logger log = LoggerFactory.getLogger("nextflow.validation");
    private static final List<String> LEVELS = List.of("skip", "debug", "info", "warn", "error");

    final boolean lenientMode;
    final boolean monochromeLogs;
    final int maxErrValSize;
    final String parametersSchema;
    /** Always holds nf_test_output, as in nf-schema. */
    final List<String> ignoreParams = new ArrayList<>(List.of("nf_test_output"));
    final String unrecognisedParams;
    final String helpParameter;
    final String helpFullParameter;
    final String showHiddenParameter;

    Settings(Session session) {
        Map<String, Object> scope = map(session.getConfig().get("validation"));
        lenientMode = bool(scope, "lenientMode", false);
        monochromeLogs = bool(scope, "monochromeLogs", false);
        Object size = scope.get("maxErrValSize");
        maxErrValSize = size instanceof Integer n && (n >= 1 || n == -1) ? n : 150;
        Object schema = scope.get("parametersSchema");
        parametersSchema = schema instanceof CharSequence text ? text.toString() : "nextflow_schema.json";
        for (String key : List.of("ignoreParams", "defaultIgnoreParams")) {
            if (scope.get(key) instanceof List<?> names) {
                names.forEach(name -> ignoreParams.add(String.valueOf(name)));
            } else if (scope.containsKey(key)) {
                log.warn("Incorrect value detected for `validation." + key + "`, a list with string values is expected.");
            }
        }
        Object level = map(scope.get("logging")).get("unrecognisedParams");
        if (level == null) {
            unrecognisedParams = "warn";
        } else if (LEVELS.contains(level.toString())) {
            unrecognisedParams = level.toString();
        } else {
            log.warn("Incorrect value detected for `validation.logging.unrecognisedParams`, one of ("
                    + String.join(", ", LEVELS) + ") is expected. Defaulting to `warn`");
            unrecognisedParams = "warn";
        }
        Map<String, Object> help = map(scope.get("help"));
        helpParameter = text(help, "shortParameter", "help");
        helpFullParameter = text(help, "fullParameter", "helpFull");
        showHiddenParameter = text(help, "showHiddenParameter", "showHidden");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return value instanceof Map ? (Map<String, Object>) value : Map.of();
    }

    private static boolean bool(Map<String, Object> scope, String key, boolean fallback) {
        Object value = scope.get(key);
        if (value == null) {
            return fallback;
        }
        if (value instanceof Boolean flag) {
            return flag;
        }
        log.warn("Incorrect value detected for `validation." + key + "`, a boolean is expected. Defaulting to `" + fallback + "`");
        return fallback;
    }

    private static String text(Map<String, Object> scope, String key, String fallback) {
        Object value = scope.get(key);
        return value instanceof CharSequence chars ? chars.toString() : fallback;
    }
}
