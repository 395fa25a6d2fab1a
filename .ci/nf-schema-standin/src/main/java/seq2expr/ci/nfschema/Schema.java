package seq2expr.ci.nfschema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pipeline's nextflow_schema.json read once: its parameter groups in the order the schema
 * lists them (allOf), and every parameter's own definition.
 */
final class Schema {
    final String text;
    final JsonNode root;
    /** group title -> (parameter -> definition) */
    final Map<String, Map<String, JsonNode>> groups = new LinkedHashMap<>();
    final Map<String, JsonNode> parameters = new LinkedHashMap<>();

    private Schema(String text, JsonNode root) {
        this.text = text;
        this.root = root;
        List<JsonNode> groupNodes = new ArrayList<>();
        JsonNode defs = root.has("$defs") ? root.get("$defs") : root.path("definitions");
        JsonNode allOf = root.path("allOf");
        if (allOf.isArray() && allOf.size() > 0) {
            for (JsonNode ref : allOf) {
                String target = ref.path("$ref").asText("");
                String name = target.substring(target.lastIndexOf('/') + 1);
                if (defs.has(name)) {
                    groupNodes.add(defs.get(name));
                }
            }
        } else {
            defs.forEach(groupNodes::add);
        }
        for (JsonNode group : groupNodes) {
            Map<String, JsonNode> members = new LinkedHashMap<>();
            group.path("properties").fields().forEachRemaining(e -> members.put(e.getKey(), e.getValue()));
            groups.put(group.path("title").asText("Other parameters"), members);
            parameters.putAll(members);
        }
        Map<String, JsonNode> ungrouped = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("properties").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            ungrouped.put(e.getKey(), e.getValue());
        }
        if (!ungrouped.isEmpty()) {
            groups.put("Other parameters", ungrouped);
            parameters.putAll(ungrouped);
        }
    }

    static Schema read(Path path) {
        try {
            String text = Files.readString(path);
            return new Schema(text, new ObjectMapper().readTree(text));
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read the parameter schema " + path + ": " + e.getMessage(), e);
        }
    }

    /** The JSON type a parameter is declared with ("" when none). */
    String type(String name) {
        JsonNode definition = parameters.get(name);
        return definition == null ? "" : definition.path("type").asText("");
    }

    /** The schema default, as a Java value (null when none). */
    Object defaultValue(String name) {
        JsonNode definition = parameters.get(name);
        if (definition == null || !definition.has("default")) {
            return null;
        }
        JsonNode value = definition.get("default");
        if (value.isNumber()) {
            return value.numberValue();
        }
        if (value.isBoolean()) {
            return value.booleanValue();
        }
        return value.isNull() ? null : value.asText();
    }
}
