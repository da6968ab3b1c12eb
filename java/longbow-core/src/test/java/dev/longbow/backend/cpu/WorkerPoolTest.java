package dev.longbow.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every task of every job runs exactly once, and a slow thread's share is taken over by the others. */
class WorkerPoolTest {
    @Test
    void everyTaskRunsOnceAcrossManyJobsWhateverTheTiming() {
        try (WorkerPool pool = new WorkerPool(3)) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(4);
            for (int job = 0; job < 2000; job++) {
                int tasks = 1 + r.nextInt(70);
                AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                boolean slow = r.nextInt(8) == 0;
                pool.run(tasks, i -> {
                    runs.incrementAndGet(i);
                    if (slow && i % 7 == 0) java.util.concurrent.locks.LockSupport.parkNanos(20_000);
                });
                for (int i = 0; i < tasks; i++) assertEquals(1, runs.get(i), "job " + job + ", task " + i + " of " + tasks);
            }
        }
    }

    @Test
    void aStalledThreadsShareIsTakenOverByTheOthers() {
        try (WorkerPool pool = new WorkerPool(2)) {
            int tasks = 64;
            Thread caller = Thread.currentThread();
            AtomicInteger byCaller = new AtomicInteger(), stalls = new AtomicInteger();
            java.util.concurrent.CountDownLatch callerTookOver = new java.util.concurrent.CountDownLatch(1);
            pool.run(tasks, i -> {
                if (Thread.currentThread() == caller) {
                    if (byCaller.incrementAndGet() > tasks / 2) callerTookOver.countDown();
                } else if (stalls.getAndIncrement() == 0) {
                    // The worker stalls on the first task it takes, as a descheduled vCPU would, until the caller has
                    // run more than its own half (or 10 s pass: fixed halves never let it, and the assertion fails).
                    try {
                        callerTookOver.await(10, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            // Fixed halves would leave the caller 32; it takes the worker's unclaimed chunks (all but the stalled one).
            assertTrue(byCaller.get() > tasks / 2, byCaller.get() + " of " + tasks + " tasks on the caller's thread");
        }
    }

    @Test
    void aFailingTaskFailsTheJobAndThePoolGoesOn() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertThrows(IllegalArgumentException.class, () -> pool.run(10, i -> {
                if (i == 7) throw new IllegalArgumentException("task 7");
            }));
            AtomicInteger count = new AtomicInteger();
            pool.run(10, i -> count.incrementAndGet());
            assertEquals(10, count.get());
        }
    }
}
