package io.opsscaffold.manager.identity;

/** Placement labels an enrollment token gives its nodes; an empty field leaves the daemon's own. */
public record Labels(String area, String zone, String business) {
  public static final Labels NONE = new Labels("", "", "");

  public Labels {
    area = area == null ? "" : area;
    zone = zone == null ? "" : zone;
    business = business == null ? "" : business;
  }
}
