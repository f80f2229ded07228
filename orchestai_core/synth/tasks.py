"""Sub-task types of the synthetic corpus: how hard each is and how many tokens it usually takes.

`difficulty` is the quality a worker needs for the expert policy to trust it with the type; the success model
(`simulate.success_probability`) centres the skill a step needs on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskType:
    name: str
    difficulty: float
    tokens_in: int
    tokens_out: int
    description: str  # `{x}` is replaced by the step's subject


def _t(name: str, difficulty: float, tokens_in: int, tokens_out: int, description: str) -> TaskType:
    return TaskType(name, difficulty, tokens_in, tokens_out, description)


TASK_TYPES: dict[str, TaskType] = {t.name: t for t in [
    # reading and preparing inputs
    _t("fetch_document", 0.0, 50, 2000, "Fetch {x}"),
    _t("extract_text", 0.6, 3000, 2500, "Extract the text of {x}"),
    _t("ocr_image", 0.8, 800, 600, "Read the text in {x} with OCR"),
    _t("transcribe_audio", 0.85, 0, 3000, "Transcribe {x}"),
    _t("diarize_speakers", 0.8, 3000, 800, "Separate the speakers in {x}"),
    _t("clean_text", 0.6, 2500, 2300, "Clean up and normalise {x}"),
    _t("detect_language", 0.6, 300, 10, "Detect the language of {x}"),
    _t("load_data", 0.8, 100, 1500, "Load {x}"),
    _t("clean_data", 0.75, 1500, 1400, "Clean and validate {x}"),
    _t("fetch_page", 0.8, 50, 3000, "Fetch the web page of {x}"),
    _t("web_search", 0.8, 60, 1200, "Search the web for {x}"),
    _t("semantic_search", 0.8, 200, 800, "Search the knowledge base for {x}"),
    _t("embed_text", 0.8, 2000, 0, "Embed {x} for retrieval"),
    _t("caption_image", 0.8, 700, 150, "Describe {x}"),
    _t("detect_objects", 0.8, 700, 200, "Detect the objects in {x}"),
    _t("extract_chart_data", 0.75, 800, 400, "Read the figures from the chart in {x}"),
    # understanding
    _t("summarize", 0.78, 3000, 500, "Summarise {x}"),
    _t("extract_fields", 0.7, 2000, 300, "Extract the key fields from {x}"),
    _t("extract_entities", 0.72, 2000, 300, "Extract names, dates and amounts from {x}"),
    _t("classify_text", 0.7, 800, 20, "Classify {x}"),
    _t("analyze_sentiment", 0.72, 1000, 60, "Analyse the sentiment of {x}"),
    _t("tag_keywords", 0.7, 1200, 80, "Tag the keywords of {x}"),
    _t("cluster_items", 0.8, 2000, 200, "Cluster {x} by theme"),
    _t("deduplicate", 0.8, 2000, 1500, "Remove duplicates from {x}"),
    _t("compare_items", 0.86, 3000, 700, "Compare {x}"),
    _t("research_topic", 0.85, 2500, 900, "Research {x}"),
    _t("fact_check", 0.88, 1500, 300, "Fact-check {x}"),
    _t("reason_answer", 0.88, 1500, 500, "Work out the answer about {x}"),
    _t("plan_work", 0.88, 800, 600, "Plan the work for {x}"),
    _t("assess_risk", 0.88, 2000, 500, "Assess the risks in {x}"),
    _t("legal_review", 0.92, 4000, 800, "Review {x} for legal issues"),
    _t("check_compliance", 0.9, 3000, 400, "Check {x} against the policy"),
    _t("score_candidates", 0.84, 2500, 300, "Score {x} against the criteria"),
    # numbers and data
    _t("compute_statistics", 0.8, 1200, 300, "Compute statistics of {x}"),
    _t("forecast_values", 0.86, 1500, 400, "Forecast {x}"),
    _t("detect_anomalies", 0.84, 2000, 300, "Look for anomalies in {x}"),
    _t("make_chart", 0.8, 600, 200, "Draw a chart of {x}"),
    _t("generate_sql", 0.85, 700, 250, "Write the SQL query for {x}"),
    _t("run_code", 0.8, 400, 600, "Run the code for {x}"),
    _t("reconcile_records", 0.86, 3000, 600, "Reconcile {x}"),
    # code
    _t("write_code", 0.88, 1500, 1200, "Write the code for {x}"),
    _t("review_code", 0.86, 2500, 600, "Review the code of {x}"),
    _t("write_tests", 0.84, 1500, 1000, "Write tests for {x}"),
    _t("run_tests", 0.8, 300, 800, "Run the tests of {x}"),
    _t("fix_bug", 0.88, 2000, 800, "Fix the bug in {x}"),
    _t("refactor_code", 0.86, 2500, 2000, "Refactor {x}"),
    _t("explain_code", 0.8, 2000, 600, "Explain {x}"),
    _t("write_docs", 0.78, 1500, 900, "Write documentation for {x}"),
    _t("analyze_logs", 0.82, 4000, 500, "Analyse the logs of {x}"),
    _t("write_config", 0.82, 600, 400, "Write the configuration for {x}"),
    # writing
    _t("draft_text", 0.8, 800, 900, "Draft {x}"),
    _t("write_report", 0.86, 3000, 1500, "Write the report on {x}"),
    _t("write_email", 0.75, 600, 300, "Write an email about {x}"),
    _t("write_reply", 0.76, 900, 300, "Write a reply to {x}"),
    _t("write_copy", 0.82, 500, 400, "Write marketing copy for {x}"),
    _t("write_social_post", 0.75, 300, 120, "Write a social media post about {x}"),
    _t("write_headline", 0.78, 400, 40, "Write headlines for {x}"),
    _t("rewrite_tone", 0.76, 900, 900, "Rewrite {x} in the requested tone"),
    _t("proofread", 0.74, 1200, 1200, "Proofread {x}"),
    _t("translate", 0.85, 1200, 1300, "Translate {x}"),
    _t("localize_content", 0.84, 1200, 1300, "Adapt {x} to the local market"),
    _t("generate_questions", 0.8, 1500, 500, "Write questions about {x}"),
    _t("grade_answers", 0.84, 2000, 400, "Grade the answers in {x}"),
    _t("make_slides", 0.8, 2000, 1200, "Turn {x} into slides"),
    _t("create_outline", 0.78, 700, 400, "Outline {x}"),
    _t("merge_results", 0.78, 3000, 1200, "Merge the results for {x}"),
    _t("format_output", 0.6, 1500, 1500, "Format {x} for delivery"),
    _t("synthesize_speech", 0.85, 1200, 0, "Record a voice-over of {x}"),
    _t("generate_image_prompt", 0.78, 300, 120, "Write an image prompt for {x}"),
    # actions
    _t("send_email", 0.0, 400, 20, "Send {x} by email"),
    _t("post_message", 0.0, 300, 20, "Post {x} to the team channel"),
    _t("create_ticket", 0.0, 300, 40, "Open a ticket for {x}"),
    _t("update_crm", 0.0, 300, 30, "Update the CRM record of {x}"),
    _t("schedule_meeting", 0.0, 200, 30, "Schedule a meeting about {x}"),
    _t("store_file", 0.0, 100, 10, "Save {x} to the shared drive"),
    _t("deploy_service", 0.0, 200, 100, "Deploy {x}"),
    _t("request_approval", 0.0, 300, 20, "Ask for approval of {x}"),
]}
