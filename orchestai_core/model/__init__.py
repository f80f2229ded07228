"""The planner model: instruction encoder, LSTM task decomposer, GNN workflow graph, worker selector."""
