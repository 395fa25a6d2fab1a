package seq2expr.ci.nfschema;

import dev.harrel.jsonschema.EvaluationContext;
import dev.harrel.jsonschema.Evaluator;
import dev.harrel.jsonschema.EvaluatorFactory;
import dev.harrel.jsonschema.JsonNode;
import dev.harrel.jsonschema.SchemaParsingContext;
import dev.harrel.jsonschema.SimpleType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The keywords nf-schema 2.5.1 adds to JSON schema for parameters (its CustomEvaluatorFactory):
 * the path formats, `exists`, and in lenient mode a `type` that lets any scalar pass for a
 * string. Paths are checked on the local file system only: a remote path (with "://") passes,
 * where the real plugin asks the remote store.
 */
final class Evaluators implements EvaluatorFactory {
    private static final List<SimpleType> SCALARS =
            List.of(SimpleType.STRING, SimpleType.INTEGER, SimpleType.NUMBER, SimpleType.BOOLEAN, SimpleType.NULL);

    private final boolean lenientMode;

    Evaluators(boolean lenientMode) {
        this.lenientMode = lenientMode;
    }

    @Override
    public Optional<Evaluator> create(SchemaParsingContext ctx, String fieldName, JsonNode schemaNode) {
        if (fieldName.equals("format") && schemaNode.isString()) {
            return switch (schemaNode.asString()) {
                case "file-path" -> Optional.of(path(true));
                case "directory-path" -> Optional.of(path(false));
                // "path" takes a file or a folder: nothing to check once file-path patterns are out
                default -> Optional.empty();
            };
        }
        if (fieldName.equals("exists") && schemaNode.isBoolean()) {
            return Optional.of(exists(schemaNode.asBoolean()));
        }
        if (fieldName.equals("type") && (schemaNode.isString() || schemaNode.isArray()) && lenientMode) {
            return Optional.of(lenientType(schemaNode));
        }
        return Optional.empty();
    }

    private static boolean local(JsonNode node) {
        return node.isString() && !node.asString().contains("://");
    }

    /** file-path (isFile) or directory-path: what an existing path must be. */
    private static Evaluator path(boolean isFile) {
        return (EvaluationContext ctx, JsonNode node) -> {
            if (!local(node)) {
                return Evaluator.Result.success();
            }
            String value = node.asString();
            Path path = Path.of(value);
            if (isFile && Files.isDirectory(path)) {
                return Evaluator.Result.failure("'" + value + "' is not a file, but a directory");
            }
            if (!isFile && Files.exists(path) && !Files.isDirectory(path)) {
                return Evaluator.Result.failure("'" + value + "' is not a directory, but a file");
            }
            return Evaluator.Result.success();
        };
    }

    private static Evaluator exists(boolean shouldExist) {
        return (EvaluationContext ctx, JsonNode node) -> {
            if (!local(node)) {
                return Evaluator.Result.success();
            }
            String value = node.asString();
            boolean exists = Files.exists(Path.of(value));
            if (!exists && shouldExist) {
                return Evaluator.Result.failure("the file or directory '" + value + "' does not exist");
            }
            if (exists && !shouldExist) {
                return Evaluator.Result.failure("the file or directory '" + value + "' should not exist");
            }
            return Evaluator.Result.success();
        };
    }

    /** nf-schema's LenientTypeEvaluator: a string type takes any scalar; an integer is a number. */
    private static Evaluator lenientType(JsonNode schemaNode) {
        Set<SimpleType> types = new LinkedHashSet<>();
        if (schemaNode.isString()) {
            types.add(SimpleType.fromName(schemaNode.asString()));
        } else {
            schemaNode.asArray().forEach(type -> types.add(SimpleType.fromName(type.asString())));
        }
        return (EvaluationContext ctx, JsonNode node) -> {
            SimpleType type = node.getNodeType();
            if (types.contains(SimpleType.STRING) && SCALARS.contains(type)) {
                return Evaluator.Result.success();
            }
            if (types.contains(type) || type == SimpleType.INTEGER && types.contains(SimpleType.NUMBER)) {
                return Evaluator.Result.success();
            }
            return Evaluator.Result.failure(String.format("Value is [%s] but should be %s", type.getName(),
                    types.stream().map(SimpleType::getName).toList()));
        };
    }
}
