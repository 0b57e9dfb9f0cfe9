# Sourced by the project's scripts: points JAVA_HOME at a JDK >= 21 when the current one is older.
# Looks at JAVA_HOME, then `java` on the PATH, then the JDKs under /usr/lib/jvm (newest first).
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}
ops_pick_jdk() {
  local candidate
  for candidate in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidate="${candidate%/}"
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    local major
    major=$(java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "No JDK 21 or newer found (looked at JAVA_HOME, java on the PATH, /usr/lib/jvm)." >&2
  echo "Install one, e.g. apt-get install openjdk-21-jdk-headless (or temurin-21-jdk), and retry." >&2
  return 1
}
