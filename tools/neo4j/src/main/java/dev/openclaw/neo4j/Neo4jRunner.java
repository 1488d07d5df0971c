package dev.openclaw.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.exceptions.AuthenticationException;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * Starts an embedded Neo4j community DBMS with Bolt on 127.0.0.1:&lt;port&gt; and auth on.
 *
 * <pre>
 *   NEO4J_RUNNER_PASSWORD=... java -Xmx512m -jar neo4j-runner.jar &lt;dataDir&gt; &lt;port&gt; [--exit-on-stdin-close]
 * </pre>
 *
 * <p>stdout carries exactly one line, {@code NEO4J_READY bolt://127.0.0.1:<port>}, once the default database
 * is available and a Bolt login with the configured password has succeeded. Everything else goes to stderr.
 * The process then blocks until SIGTERM/SIGINT (or, with {@code --exit-on-stdin-close}, until stdin reaches EOF)
 * and shuts the DBMS down cleanly.
 *
 * <p>Password: at the first start of a data directory the built-in {@code neo4j} user still has the default
 * password with "change required"; it is then set to {@code NEO4J_RUNNER_PASSWORD} through the system database
 * ({@code ALTER USER ... CHANGE NOT REQUIRED}). Later starts keep the stored password; if it differs from the
 * environment the runner fails with exit code 3, unless {@code NEO4J_RUNNER_RESET_PASSWORD=1} forces a reset.
 *
 * <p>Exit codes: 0 clean stop, 2 usage, 3 password mismatch, 1 anything else.
 */
public final class Neo4jRunner {
    private static final String USER = "neo4j";
    private static final String HOST = "127.0.0.1";
    private static final int MIN_PASSWORD_LENGTH = 8; // Neo4j's default dbms.security.auth_minimum_password_length

    private Neo4jRunner() {}

    public static void main(String[] args) {
        // stdout is reserved for the READY line; keep a handle to it and route stray prints to stderr.
        PrintStream ready = System.out;
        System.setOut(System.err);
        try {
            System.exit(run(args, ready));
        } catch (UsageException e) {
            System.err.println("neo4j-runner: " + e.getMessage());
            System.err.println("usage: NEO4J_RUNNER_PASSWORD=<pw> java -jar neo4j-runner.jar <dataDir> <port> [--exit-on-stdin-close]");
            System.exit(2);
        } catch (Throwable t) {
            System.err.println("neo4j-runner: failed: " + t);
            t.printStackTrace(System.err);
            System.exit(1);
        }
    }

    private static int run(String[] args, PrintStream ready) throws Exception {
        boolean exitOnStdinClose = false;
        String dir = null;
        String portArg = null;
        for (String a : args) {
            if (a.equals("--exit-on-stdin-close")) {
                exitOnStdinClose = true;
            } else if (a.startsWith("--")) {
                throw new UsageException("unknown option " + a);
            } else if (dir == null) {
                dir = a;
            } else if (portArg == null) {
                portArg = a;
            } else {
                throw new UsageException("too many arguments");
            }
        }
        if (dir == null || portArg == null) {
            throw new UsageException("missing <dataDir> or <port>");
        }
        int port;
        try {
            port = Integer.parseInt(portArg);
        } catch (NumberFormatException e) {
            throw new UsageException("port is not a number: " + portArg);
        }
        if (port < 1 || port > 65535) {
            throw new UsageException("port must be 1..65535 (Neo4j does not accept 0): " + port);
        }
        String password = System.getenv("NEO4J_RUNNER_PASSWORD");
        if (password == null || password.isEmpty()) {
            throw new UsageException("NEO4J_RUNNER_PASSWORD is not set");
        }
        if (password.length() < MIN_PASSWORD_LENGTH) {
            throw new UsageException("NEO4J_RUNNER_PASSWORD must have at least " + MIN_PASSWORD_LENGTH + " characters");
        }
        boolean forceReset = "1".equals(System.getenv("NEO4J_RUNNER_RESET_PASSWORD"));

        Path home = Path.of(dir).toAbsolutePath().normalize();
        Files.createDirectories(home);

        long t0 = System.nanoTime();
        Log4jLogProvider userLog = new Log4jLogProvider(System.err, Level.INFO);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(userLog)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Bolt's shutdown otherwise waits 2 x 5 s for idle connections and its thread pool after the
                // databases are already checkpointed and closed; a test server has nothing to drain.
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(500))
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(2))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            System.err.println("neo4j-runner: shutting down");
            try {
                dbms.shutdown();
                System.err.println("neo4j-runner: stopped");
            } catch (Throwable t) {
                System.err.println("neo4j-runner: shutdown failed: " + t);
            } finally {
                userLog.close();
                stopped.countDown();
            }
        }, "neo4j-runner-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        if (!system.isAvailable(TimeUnit.MINUTES.toMillis(2))) {
            throw new IllegalStateException("system database did not become available");
        }
        ensurePassword(system, password, forceReset);

        GraphDatabaseService neo4j = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!neo4j.isAvailable(TimeUnit.MINUTES.toMillis(2))) {
            throw new IllegalStateException("database 'neo4j' did not become available");
        }

        String uri = "bolt://" + HOST + ":" + port;
        if (!boltLogin(uri, password)) {
            System.err.println("neo4j-runner: the data directory " + home + " already has a different password for user '"
                    + USER + "' than NEO4J_RUNNER_PASSWORD (set NEO4J_RUNNER_RESET_PASSWORD=1 to overwrite it)");
            return 3; // the shutdown hook stops the DBMS
        }

        System.err.printf("neo4j-runner: ready in %d ms (home %s)%n", (System.nanoTime() - t0) / 1_000_000, home);
        ready.println("NEO4J_READY " + uri);
        ready.flush();

        if (exitOnStdinClose) {
            Thread watcher = new Thread(() -> {
                try (InputStream in = System.in) {
                    byte[] buf = new byte[256];
                    while (in.read(buf) >= 0) {
                        // discard; we only wait for EOF
                    }
                } catch (IOException ignored) {
                    // treat a broken stdin like EOF
                }
                System.err.println("neo4j-runner: stdin closed");
                System.exit(0);
            }, "neo4j-runner-stdin");
            watcher.setDaemon(true);
            watcher.start();
        }
        // Block until the shutdown hook (SIGTERM, SIGINT, System.exit from the stdin watcher) has stopped the DBMS.
        stopped.await();
        return 0;
    }

    /**
     * First start: the built-in user still carries the default password with "change required"; replace it.
     * Later starts leave the stored password alone (unless forced), so it is checked by the Bolt login instead.
     */
    private static void ensurePassword(GraphDatabaseService system, String password, boolean forceReset) {
        Boolean changeRequired = system.executeTransactionally(
                "SHOW USERS YIELD user, passwordChangeRequired WHERE user = $user RETURN passwordChangeRequired",
                Map.of("user", USER),
                result -> result.hasNext() ? (Boolean) result.next().get("passwordChangeRequired") : null);
        Map<String, Object> params = Map.of("password", password);
        if (changeRequired == null) {
            system.executeTransactionally("CREATE USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED", params);
            System.err.println("neo4j-runner: created user '" + USER + "' with the configured password");
        } else if (changeRequired || forceReset) {
            system.executeTransactionally("ALTER USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED", params);
            System.err.println("neo4j-runner: set the password of user '" + USER + "'"
                    + (changeRequired ? " (first start)" : " (NEO4J_RUNNER_RESET_PASSWORD=1)"));
        } else {
            System.err.println("neo4j-runner: keeping the stored password of user '" + USER + "'");
        }
    }

    /** A real Bolt handshake + basic-auth login, so READY means a client can connect with this password. */
    private static boolean boltLogin(String uri, String password) {
        Config config = Config.builder()
                .withoutEncryption()
                .withConnectionTimeout(10, TimeUnit.SECONDS)
                .withMaxConnectionPoolSize(1)
                .build();
        try (Driver driver = GraphDatabase.driver(uri, AuthTokens.basic(USER, password), config)) {
            driver.verifyConnectivity();
            return true;
        } catch (AuthenticationException e) {
            return false;
        }
    }

    private static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
