"""Test-time RL (TTRV) on unlabeled images with TRL's GRPOTrainer and a PEFT LoRA: the recipe of a
TTRV Playground run, for one GPU or a cluster.

    accelerate launch --config_file accelerate/single_gpu.yaml train_ttrv.py
    accelerate launch --config_file accelerate/multi_gpu_zero2.yaml train_ttrv.py --model Qwen/Qwen2.5-VL-7B-Instruct

It adapts a LoRA on data/train.jsonl (questions and images, no labels) with TTRV's label-free reward
(ttrv_rewards.py: agreement between the model's own sampled answers), then, when data/eval.jsonl
exists, scores greedy answers before and after (labels are read only there). Every setting below
comes from the playground run by name; README.md says what differs from the playground and why.
Written against TRL 1.9.0 (GRPOConfig fields, reward-function signature) and PEFT's LoraConfig;
the exporting machine could not install TRL, so this script was compiled there but not run.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ttrv_rewards  # noqa: E402  (next to this file; no dependencies)

# The run's settings, written by the playground's export (names: GRPOConfig, LoraConfig, TTRV).
# @@RUN_SETTINGS@@


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=BASE_MODEL, help=f"base model: a Hub id or a local folder (default: the run's, {BASE_MODEL})")
    p.add_argument("--output-dir", default="ttrv-lora", help="where the adapter (PEFT layout) and logs go")
    p.add_argument("--train", default=os.path.join(HERE, "data", "train.jsonl"), help="unlabeled items (JSONL: id, image, question)")
    p.add_argument("--eval", default=os.path.join(HERE, "data", "eval.jsonl"), help="labelled items to score greedy answers on, if present")
    p.add_argument("--per-device-train-batch-size", type=int, default=None,
                   help="completions per GPU per forward pass (default: as many of a step's completions as divide evenly, "
                        "at most num_generations); gradient accumulation makes up the rest of the step")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    p.add_argument("--use-vllm", action="store_true", help="generate with vLLM (TRL's use_vllm, colocate mode)")
    p.add_argument("--no-eval", action="store_true", help="skip the greedy evaluation before and after")
    return p.parse_args()


def batch_geometry(prompts_per_step, num_generations, world_size, per_device=None):
    """One optimizer step = one generation round of prompts_per_step prompts x num_generations
    completions, spread over the processes, as the playground's step."""
    total = prompts_per_step * num_generations
    if total % world_size:
        sys.exit(f"{prompts_per_step} prompts x {num_generations} completions per step do not divide over {world_size} "
                 "processes: launch a number of processes that divides them.")
    per_process = total // world_size
    if per_device is None:
        per_device = max(d for d in range(1, min(per_process, num_generations) + 1) if per_process % d == 0)
    if per_process % per_device:
        sys.exit(f"--per-device-train-batch-size {per_device} does not divide the {per_process} completions per process "
                 "of a step: pick a divisor.")
    return per_device, per_process // per_device


def completion_text(completion):
    """A completion as text: TRL passes conversational completions as message lists."""
    if isinstance(completion, str):
        return completion
    content = completion[0]["content"] if completion else ""
    if isinstance(content, list):  # structured blocks
        return "".join(block.get("text", "") for block in content if block.get("type") == "text")
    return content


class TtrvReward:
    """TTRV's reward as a TRL reward function: each completion's answer is extracted as the
    playground does, and rewarded by its prompt's votes (ttrv_rewards.rewards). TRL spreads one
    prompt's completions over the processes and gathers the rewards only afterwards, while a
    frequency needs every vote of the prompt: so the answers are gathered first (item_id names the
    prompt), rewards computed on the whole batch, and each process returns its own slice."""

    def __init__(self, kind, alpha, guard_threshold):
        ttrv_rewards.check_reward_kind(kind)  # confidence: TRL gives reward functions no log-probs
        self.__name__ = kind  # TRL logs it as rewards/<name>/mean
        self.kind, self.alpha, self.guard_threshold = kind, alpha, guard_threshold
        self.last_agreement = None

    def __call__(self, completions, question, item_id, **kwargs):
        from accelerate import PartialState
        from accelerate.utils import gather_object

        answers = [ttrv_rewards.extract_answer(completion_text(c), q) for c, q in zip(completions, question)]
        everyone = gather_object(list(zip(item_id, answers)))
        sizes = gather_object([len(answers)])
        start = sum(sizes[: PartialState().process_index])
        groups = {}
        for key, answer in everyone:
            groups.setdefault(key, []).append(answer)
        per_group = {key: iter(ttrv_rewards.rewards(self.kind, votes, len(votes), self.alpha, self.guard_threshold))
                     for key, votes in groups.items()}
        rewards = [next(per_group[key]) for key, _ in everyone]
        self.last_agreement = sum(ttrv_rewards.agreement(v) for v in groups.values()) / len(groups)
        log_metric = kwargs.get("log_metric")
        if log_metric is not None:  # TRL >= 1.9: shown next to the reward in the logs
            log_metric("agreement", self.last_agreement)
            if self.kind == "guarded_majority":  # prompts whose majority share is below the guard
                log_metric("guard_skipped", sum(ttrv_rewards.guard_skips(v, self.guard_threshold) for v in groups.values()))
        return rewards[start : start + len(answers)]


def load_items(path):
    """A JSONL file of items as a datasets.Dataset: the image decoded, the question as TRL's
    conversational prompt (TRL puts the image before the text of the user turn)."""
    from datasets import Image, load_dataset

    folder = os.path.dirname(os.path.abspath(path))
    ds = load_dataset("json", data_files=path, split="train")
    ds = ds.map(lambda row: {"image": os.path.join(folder, row["image"]), "prompt": [{"role": "user", "content": row["question"]}]})
    ds = ds.cast_column("image", Image())
    return ds.map(lambda row: {"image": row["image"].convert("RGB")})


def greedy_accuracy(model, processor, items, max_new_tokens):
    """TTRV's number: greedy (temperature 0) answers scored against the labels, extracted alike."""
    import torch

    model.eval()
    hits = []
    for row in items:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": row["question"]}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = processor(text=[text], images=[[row["image"]]], return_tensors="pt").to(model.device)
        with torch.no_grad():
            out = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens)
        reply = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0]
        q = row["question"]
        hits.append(ttrv_rewards.extract_answer(reply, q) == ttrv_rewards.extract_answer(row["answer"], q))
    return sum(hits) / len(hits)


def main():
    args = parse_args()
    from transformers import TrainerCallback
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    class EarlyStopOnAgreement(TrainerCallback):
        """The playground's early_stop_agreement: stop once a step's mean agreement reaches it."""

        def __init__(self, reward, threshold):
            self.reward, self.threshold = reward, threshold

        def on_step_end(self, _args, _state, control, **_kwargs):
            agreement = self.reward.last_agreement
            if self.threshold is not None and agreement is not None and agreement >= self.threshold:
                control.should_training_stop = True

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    settings = dict(GRPO_SETTINGS)
    per_device, accumulation = batch_geometry(TTRV_SETTINGS["prompts_per_step"], settings["num_generations"], world_size,
                                              args.per_device_train_batch_size)
    config = GRPOConfig(
        output_dir=args.output_dir,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        steps_per_generation=accumulation,  # one generation round per optimizer step, as the playground
        remove_unused_columns=False,  # the reward reads the question and item_id columns
        model_init_kwargs={"dtype": args.dtype},
        bf16=args.dtype == "bfloat16",
        fp16=args.dtype == "float16",
        use_vllm=args.use_vllm,
        vllm_mode="colocate",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        **settings,
    )
    reward = TtrvReward(TTRV_SETTINGS["reward"], TTRV_SETTINGS["alpha"], TTRV_SETTINGS["guard_threshold"])
    train = load_items(args.train)
    trainer = GRPOTrainer(
        model=args.model,
        reward_funcs=[reward],
        args=config,
        train_dataset=train,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA_SETTINGS),
        callbacks=[EarlyStopOnAgreement(reward, TTRV_SETTINGS["early_stop_agreement"])],
    )
    scored = None if args.no_eval or not os.path.exists(args.eval) else load_items(args.eval)
    report = {"model": args.model, "train_items": len(train)}
    if scored is not None and trainer.accelerator.is_main_process:
        with trainer.model.disable_adapter():
            report["base_greedy_accuracy"] = greedy_accuracy(trainer.model, trainer.processing_class, scored,
                                                             settings["max_completion_length"])
    trainer.accelerator.wait_for_everyone()  # the other processes wait for the main one's evaluation
    trainer.train()
    trainer.save_model(args.output_dir)  # adapter_config.json + adapter_model.safetensors (PEFT)
    if scored is not None and trainer.accelerator.is_main_process:
        report["adapted_greedy_accuracy"] = greedy_accuracy(trainer.model, trainer.processing_class, scored,
                                                            settings["max_completion_length"])
        report["eval_items"] = len(scored)
    if trainer.accelerator.is_main_process:
        report["last_agreement"] = reward.last_agreement
        with open(os.path.join(args.output_dir, "ttrv_report.json"), "w") as f:
            json.dump(report, f, indent=2)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
