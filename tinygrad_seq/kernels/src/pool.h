// Threads for the compiled CPU code: a pool of workers kept for the life of the process and a
// barrier for the few threads of one time loop. Both spin briefly, then yield or sleep: the
// others usually arrive within microseconds, and on a busy machine a waiting thread must not
// take the core from the one it waits for (kernels/loops.py lowers the thread count when the
// waits grow long).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define TS_PAUSE() _mm_pause()
#else
#define TS_PAUSE() ((void)0)
#endif

namespace ts_pool {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Threads that meet once per time step; wait() returns the nanoseconds spent waiting. A
// waiter spins for a few tens of microseconds (a quiet machine's waits are shorter), then
// sleeps: on a busy machine the thread it waits for may have lost its core, and a sleeping
// waiter leaves its own core idle, so the scheduler moves that thread there at once (a
// spinning or yielding one would keep the core, and both would crawl).
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  int64_t wait() {
    const int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        gen_.fetch_add(1, std::memory_order_acq_rel);
      }
      if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
      return 0;
    }
    const int64_t start = now_ns();
    for (int spins = 0; spins < kSpins; ++spins) {
      if (gen_.load(std::memory_order_acquire) != gen) return now_ns() - start;
      TS_PAUSE();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    sleepers_.fetch_add(1, std::memory_order_acq_rel);
    wake_.wait(lock, [&] { return gen_.load(std::memory_order_acquire) != gen; });
    sleepers_.fetch_sub(1, std::memory_order_acq_rel);
    return now_ns() - start;
  }

 private:
  static constexpr int kSpins = 2000;  // ~50 us of pause instructions
  const int n_;
  std::atomic<int> count_{0}, gen_{0}, sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Workers started on first need, each waiting for a job by spinning briefly, then sleeping
// on a condition variable, so an idle engine takes no CPU from anyone.
class Pool {
 public:
  static Pool& get() {
    static Pool pool;
    return pool;
  }

  // fn(k) for k = 0 .. n-1, the calling thread running k = 0; returns when all have finished
  void run(int n, const std::function<void(int)>& fn) {
    if (n <= 1) {
      fn(0);
      return;
    }
    std::lock_guard<std::mutex> one_at_a_time(run_mutex_);
    while (static_cast<int>(workers_.size()) < n - 1) {
      // a new worker starts from the generation before this job's: were it to read the
      // counter itself, it could start after the increment below and wait past its job
      const int index = static_cast<int>(workers_.size()) + 1;
      const int seen = generation_.load(std::memory_order_acquire);
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      n_ = n;
      pending_.store(n - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    fn(0);
    for (int spins = 0; pending_.load(std::memory_order_acquire) > 0; ++spins) {
      if (spins < 2000)
        TS_PAUSE();
      else
        std::this_thread::yield();
    }
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

 private:
  void work(int index, int seen) {
    for (;;) {
      for (int spins = 0; spins < 20000 && generation_.load(std::memory_order_acquire) == seen;
           ++spins)
        TS_PAUSE();
      const std::function<void(int)>* job;
      int n;
      {
        // the generation, the job and its size read together, under the lock that publishes
        // them: a worker late for one job must not run the next one's under the old count
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        if (stop_) return;
        seen = generation_.load();
        job = job_;
        n = n_;
      }
      if (index < n) {
        (*job)(index);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_;
  std::atomic<int> generation_{0}, pending_{0};
  const std::function<void(int)>* job_ = nullptr;
  int n_ = 0;
  bool stop_ = false;
};

// [begin, end) of part k of `count` items split into `parts` nearly equal parts
inline int64_t part_begin(int64_t count, int parts, int k) { return count * k / parts; }

}  // namespace ts_pool
