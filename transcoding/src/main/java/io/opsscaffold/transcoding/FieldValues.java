package io.opsscaffold.transcoding;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.opsscaffold.errors.OpsException;
import java.text.ParseException;
import java.util.Locale;

/**
 * Sets message fields from the strings of path variables and query parameters, following the {@code
 * google.api.http} rules: dotted names address nested messages, repeated fields collect every
 * value, enums accept their name or number, well-known Duration and Timestamp accept their JSON
 * forms ("1.5s", RFC 3339).
 */
final class FieldValues {
  private FieldValues() {}

  /**
   * Sets {@code path} (JSON or proto field names, dotted) on {@code builder} from {@code value}.
   *
   * @throws OpsException INVALID_ARGUMENT naming the parameter when the name or value is wrong
   */
  static void set(Message.Builder builder, String path, String value, String origin) {
    String[] names = path.split("\\.");
    Message.Builder target = builder;
    for (int i = 0; i < names.length; i++) {
      FieldDescriptor field = find(target.getDescriptorForType(), names[i], path, origin);
      if (i < names.length - 1) {
        if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE || field.isRepeated()) {
          throw OpsException.invalidArgument(
              origin + " '" + path + "': '" + names[i] + "' is not a message field");
        }
        target = target.getFieldBuilder(field);
        continue;
      }
      Object converted = convert(field, value, path, origin);
      if (field.isRepeated()) {
        target.addRepeatedField(field, converted);
      } else {
        target.setField(field, converted);
      }
    }
  }

  private static FieldDescriptor find(Descriptor type, String name, String path, String origin) {
    for (FieldDescriptor f : type.getFields()) {
      if (f.getJsonName().equals(name)) {
        return f;
      }
    }
    for (FieldDescriptor f : type.getFields()) {
      if (f.getName().equals(name)) {
        if (!f.getJsonName().equals(name) && origin.equals("query parameter")) {
          throw OpsException.invalidArgument(
              "unknown query parameter '" + path + "'; use '" + f.getJsonName() + "'");
        }
        return f;
      }
    }
    throw OpsException.invalidArgument(
        "unknown " + origin + " '" + path + "'; valid: " + validNames(type));
  }

  private static String validNames(Descriptor type) {
    StringBuilder names = new StringBuilder();
    for (FieldDescriptor f : type.getFields()) {
      if (!names.isEmpty()) {
        names.append(", ");
      }
      names.append(f.getJsonName());
    }
    return names.toString();
  }

  private static Object convert(FieldDescriptor field, String value, String path, String origin) {
    try {
      return switch (field.getJavaType()) {
        case STRING -> value;
        case INT -> Integer.parseInt(value);
        case LONG -> Long.parseLong(value);
        case FLOAT -> Float.parseFloat(value);
        case DOUBLE -> Double.parseDouble(value);
        case BOOLEAN -> parseBoolean(value);
        case ENUM -> parseEnum(field, value);
        case BYTE_STRING ->
            com.google.protobuf.ByteString.copyFrom(java.util.Base64.getUrlDecoder().decode(value));
        case MESSAGE -> parseMessage(field, value);
      };
    } catch (IllegalArgumentException | ParseException e) {
      throw OpsException.invalidArgument(
          origin
              + " '"
              + path
              + "' has an invalid value '"
              + value
              + "' for a "
              + typeName(field)
              + " field");
    }
  }

  private static boolean parseBoolean(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true", "1" -> true;
      case "false", "0" -> false;
      default -> throw new IllegalArgumentException(value);
    };
  }

  private static EnumValueDescriptor parseEnum(FieldDescriptor field, String value) {
    EnumValueDescriptor byName = field.getEnumType().findValueByName(value);
    if (byName != null) {
      return byName;
    }
    EnumValueDescriptor byNumber = field.getEnumType().findValueByNumber(Integer.parseInt(value));
    if (byNumber == null) {
      throw new IllegalArgumentException(value);
    }
    return byNumber;
  }

  private static Message parseMessage(FieldDescriptor field, String value) throws ParseException {
    String type = field.getMessageType().getFullName();
    if (type.equals(Duration.getDescriptor().getFullName())) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|m|h)").matcher(value);
      if (m.matches()) { // people write 500ms, 5m, 1h; protobuf's JSON form is 300s
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
          case "ms" -> Durations.fromMillis(n);
          case "m" -> Durations.fromSeconds(n * 60);
          default -> Durations.fromSeconds(n * 3600);
        };
      }
      return Durations.parse(value);
    }
    if (type.equals(Timestamp.getDescriptor().getFullName())) {
      return Timestamps.parse(value);
    }
    throw new IllegalArgumentException("message fields cannot be set from a string");
  }

  private static String typeName(FieldDescriptor field) {
    return switch (field.getJavaType()) {
      case INT, LONG -> "integer";
      case FLOAT, DOUBLE -> "number";
      case BOOLEAN -> "boolean (true or false)";
      case ENUM ->
          "enum ("
              + field.getEnumType().getValues().stream()
                  .map(EnumValueDescriptor::getName)
                  .reduce((a, b) -> a + ", " + b)
                  .orElse("")
              + ")";
      case MESSAGE -> field.getMessageType().getName();
      default -> field.getJavaType().name().toLowerCase(Locale.ROOT);
    };
  }
}
