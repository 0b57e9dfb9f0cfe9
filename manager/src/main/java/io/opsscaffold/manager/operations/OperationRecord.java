package io.opsscaffold.manager.operations;

import io.opsscaffold.api.fleet.v1.BatchItemResult;
import java.util.List;

/**
 * An entry of the operations log. Times are epoch milliseconds; {@code finishedMs} is 0 while the
 * operation runs.
 *
 * @param result RUNNING, SUCCEEDED, FAILED or PARTIAL
 */
public record OperationRecord(
    String operationId,
    String kind,
    String requestedBy,
    long requestedMs,
    long finishedMs,
    String result,
    List<BatchItemResult> results,
    String traceId) {

  public int success() {
    return (int) results.stream().filter(BatchItemResult::getOk).count();
  }

  public int failed() {
    return results.size() - success();
  }

  /** The result word for a finished operation with these results. */
  public static String resultOf(List<BatchItemResult> results) {
    long ok = results.stream().filter(BatchItemResult::getOk).count();
    if (ok == results.size()) {
      return "SUCCEEDED";
    }
    return ok == 0 ? "FAILED" : "PARTIAL";
  }
}
