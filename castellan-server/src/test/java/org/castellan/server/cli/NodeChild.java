package org.castellan.server.cli;

import java.nio.file.Path;
import org.castellan.server.Castellan;
import org.castellan.server.config.CastellanConfig;

/**
 * A whole Castellan node in a process of its own, for the tests that kill one with SIGKILL: started
 * from the configuration file given as the argument, it prints {@code READY} once it serves and then
 * serves until it is killed.
 */
public final class NodeChild {

    private NodeChild() {}

    public static void main(String[] args) throws Exception {
        Castellan.start(CastellanConfig.load(Path.of(args[0])));
        System.out.println("READY");
        System.out.flush();
        Thread.currentThread().join(); // until SIGKILL
    }
}
