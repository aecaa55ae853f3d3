"""Training step (forward, backward of mean(out**2), SGD) of LSTM, GRU and RNN layers at batch
32, 64 steps, input 128, hidden 256, float32, against PyTorch side by side.

    python benchmarks/rnn_step.py
"""

from tinygrad_seq.app.bench import main

if __name__ == "__main__":
    main(["rnn-step"])
