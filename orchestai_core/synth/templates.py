"""Task templates of the synthetic corpus: parameterised workflow skeletons over many domains.

A base workflow is a chain of preparation steps, one parallel branch per item named in the
instruction (languages, vendors, files…), a merge, and closing steps. Each base comes in four
templates: alone and with add-ons (email the result, make slides, …) that hang further branches off
its last step: 53 bases × 4 variants = 212 templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Base:
    name: str
    domain: str
    asks: tuple[str, ...]          # phrasings; {subject}, {items}, {item_noun} are filled in
    subjects: tuple[str, ...]
    prefix: tuple[str, ...] = ()   # chain of step types before the branches
    item_kind: str | None = None   # pool the branch items come from (see ITEM_POOLS)
    branch: tuple[str, ...] = ()   # chain of step types per item
    merge: str | None = None
    suffix: tuple[str, ...] = ()
    side: tuple[str, ...] = ()     # steps that run beside the branches, from the last prefix step


@dataclass(frozen=True)
class AddOn:
    name: str
    clauses: tuple[str, ...]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    name: str
    base: Base
    addons: tuple[AddOn, ...] = field(default_factory=tuple)

    @property
    def domain(self) -> str:
        return self.base.domain


# Items to branch over: (noun for counted phrasing or None if items must be named, names).
ITEM_POOLS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "language": (None, ("French", "German", "Spanish", "Japanese", "Italian", "Portuguese", "Korean",
                        "Dutch", "Polish", "Arabic", "Hindi", "Swedish", "Turkish", "Chinese")),
    "vendor": ("vendors", ("Acme Cloud", "Globex", "Initech", "Umbrella Systems", "Hooli", "Stark Data",
                           "Wayne Analytics", "Soylent Software", "Vandelay Tech")),
    "competitor": ("competitors", ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware",
                                   "Proseware", "Adventure Works")),
    "file": ("files", ("sales_q1.csv", "sales_q2.csv", "returns_2025.xlsx", "inventory.parquet",
                       "web_traffic.csv", "survey_results.xlsx", "churn_export.csv", "ledger_march.csv")),
    "region": ("regions", ("EMEA", "North America", "LATAM", "APAC", "the Nordics", "DACH", "Benelux",
                           "Southeast Asia")),
    "channel": ("channels", ("LinkedIn", "Twitter", "Instagram", "the newsletter", "the blog", "TikTok",
                             "Facebook", "YouTube")),
    "candidate": ("candidates", ("Alice Martin", "Bilal Khan", "Chen Wei", "Dana Cohen", "Eva Novak",
                                 "Femi Adeyemi", "Gita Rao", "Hugo Lefebvre")),
    "service": ("services", ("the auth service", "the billing API", "the search service", "the payments worker",
                             "the notification service", "the gateway", "the scheduler",
                             "the reporting job", "the user service")),
    "ticket": ("tickets", ("ticket #4512", "ticket #4519", "ticket #4533", "ticket #4540", "ticket #4547",
                           "ticket #4561", "ticket #4570", "ticket #4588", "ticket #4593")),
    "contract": ("contracts", ("the NDA with Globex", "the Initech MSA", "the Hooli reseller agreement",
                               "the office lease", "the Acme SLA", "the Contoso licence",
                               "the Umbrella supply contract", "the Stark consulting SOW")),
    "product": ("products", ("the Pro plan", "the mobile app", "the analytics add-on", "the starter kit",
                             "the enterprise tier", "the smart speaker", "the API platform",
                             "the desktop client", "the browser extension")),
    "paper": ("papers", ("the attention paper", "the scaling-laws paper", "the RLHF survey",
                         "the retrieval-augmentation paper", "the mixture-of-experts paper",
                         "the distillation paper", "the chain-of-thought paper", "the LoRA paper",
                         "the tokenizer study")),
    "episode": ("episodes", ("episode 12", "episode 13", "episode 14", "episode 15", "episode 16", "episode 17",
                         "episode 18", "episode 19", "episode 20")),
    "image": ("images", ("photo_001.jpg", "photo_002.jpg", "receipt_scan.png", "whiteboard.jpg",
                         "diagram.png", "storefront.jpg", "shelf_photo.jpg", "menu_board.jpg",
                         "label_closeup.png")),
    "chapter": ("chapters", ("chapter 1", "chapter 2", "chapter 3", "chapter 4", "chapter 5", "chapter 6",
                         "chapter 7", "chapter 8", "chapter 9")),
    "account": ("accounts", ("Acme Corp", "Globex", "Initech", "Hooli", "Massive Dynamic", "Cyberdyne",
                             "Tyrell Corp", "Oscorp", "Wonka Industries")),
}

B = Base
BASES: tuple[Base, ...] = (
    # documents
    B("doc-summarize-translate", "documents",
      ("summarize {subject} and translate the summary into {items}",
       "give me a summary of {subject} in {items}",
       "read {subject}, boil it down to a short summary and provide it in {items}"),
      ("the attached quarterly report", "board_minutes.pdf", "the annual report", "the product requirements doc"),
      prefix=("extract_text", "clean_text", "summarize"), item_kind="language", branch=("translate", "proofread"),
      merge="format_output"),
    B("doc-extract-fields", "documents",
      ("pull the key fields out of {items} and put them in one table",
       "extract the important data from {items} into a spreadsheet",
       "go through {items} and collect the main fields in a single sheet"),
      ("the invoices",), item_kind="file", branch=("extract_text", "extract_fields"),
      merge="merge_results", suffix=("format_output",)),
    B("doc-scan-digitize", "documents",
      ("digitize {items} and make the text searchable",
       "OCR {items} and index the text so we can search it",
       "turn the scans {items} into searchable text"),
      ("the scans",), item_kind="image", branch=("ocr_image", "clean_text", "embed_text"),
      merge="merge_results"),
    B("doc-quick-summary", "documents",
      ("summarize {subject}", "give me the gist of {subject}", "what are the main points of {subject}?"),
      ("this email thread", "the meeting notes", "the memo from finance", "the customer letter"),
      prefix=("clean_text", "summarize")),
    # research
    B("research-compare-vendors", "research",
      ("compare {items} and recommend one for {subject}",
       "evaluate {items} as options for {subject} and tell me which to pick",
       "research {items} for {subject} and write up a recommendation"),
      ("our CRM migration", "the data warehouse project", "customer support tooling", "the new payroll system"),
      prefix=("plan_work",), item_kind="vendor", branch=("web_search", "fetch_page", "summarize"),
      merge="compare_items", suffix=("write_report",)),
    B("research-literature", "research",
      ("review {items} and write a short literature summary on {subject}",
       "read {items} and summarise what they say about {subject}",
       "go through {items} and tell me the key findings on {subject}"),
      ("efficient transformers", "alignment methods", "retrieval for LLMs", "model compression"),
      item_kind="paper", branch=("fetch_document", "extract_text", "summarize"),
      merge="merge_results", suffix=("write_report", "proofread")),
    B("research-market-scan", "research",
      ("scan the market for {subject} in {items}",
       "find out how big the market for {subject} is across {items}",
       "size the {subject} market in {items}"),
      ("e-bikes", "smart thermostats", "plant-based snacks", "HR software"),
      prefix=("plan_work",), item_kind="region", branch=("web_search", "extract_entities", "compute_statistics"),
      merge="merge_results", suffix=("make_chart", "write_report")),
    B("research-fact-check", "research",
      ("fact-check {subject}", "verify the claims in {subject}", "check whether {subject} holds up"),
      ("the press release draft", "the blog post on battery life", "the sales deck claims"),
      side=("semantic_search", "summarize"), prefix=("extract_entities", "web_search", "fact_check"), suffix=("write_report", "proofread")),
    # code
    B("code-feature", "code",
      ("implement {subject} with tests", "add {subject} to the codebase, including tests",
       "build {subject} and make sure it is tested"),
      ("a CSV export endpoint", "rate limiting for the API", "password reset emails", "a retry decorator"),
      prefix=("plan_work", "write_code"), side=("write_tests",), suffix=("run_tests", "review_code", "write_docs")),
    B("code-fix-bug", "code",
      ("fix {subject}", "track down and fix {subject}", "there is a bug: {subject}. please fix it"),
      ("the crash on empty uploads", "the timezone bug in reports", "the memory leak in the worker"),
      side=("semantic_search", "explain_code"), prefix=("analyze_logs", "explain_code", "fix_bug", "write_tests", "run_tests"), suffix=("review_code", "write_docs")),
    B("code-review-services", "code",
      ("review the recent changes in {items}", "do a code review of {items}",
       "look over the latest commits to {items} and flag problems"),
      ("recent changes",), item_kind="service", branch=("explain_code", "review_code"),
      merge="merge_results", suffix=("create_ticket",)),
    B("code-refactor", "code",
      ("refactor {subject} and keep the tests green", "clean up {subject} without changing behaviour",
       "restructure {subject} so it is easier to maintain"),
      ("the payment module", "the legacy importer", "the report generator"),
      side=("write_tests",), prefix=("explain_code", "refactor_code", "run_tests", "review_code"), suffix=("write_docs", "post_message")),
    # data analysis
    B("data-analyze-files", "data_analysis",
      ("analyze {items} and report the trends", "look at {items} and tell me what changed",
       "crunch the numbers in {items} and summarise the trends"),
      ("sales data",), item_kind="file", branch=("load_data", "clean_data", "compute_statistics"),
      merge="merge_results", suffix=("make_chart", "write_report")),
    B("data-forecast", "data_analysis",
      ("forecast {subject} for next quarter", "predict {subject} for the next three months",
       "build a forecast of {subject}"),
      ("monthly revenue", "support ticket volume", "warehouse demand", "web traffic"),
      prefix=("load_data", "clean_data", "detect_anomalies", "forecast_values", "make_chart"),
      suffix=("write_report",)),
    B("data-sql-question", "data_analysis",
      ("answer this from the database: {subject}", "query the warehouse to find {subject}",
       "use SQL to work out {subject}"),
      ("top customers by revenue", "weekly active users", "average order value by region"),
      side=("semantic_search",), prefix=("generate_sql", "run_code", "reason_answer"), suffix=("make_chart", "write_report")),
    B("data-anomaly-regions", "data_analysis",
      ("check {subject} in {items} for anomalies", "look for anything unusual in {subject} across {items}",
       "flag anomalies in {subject} for {items}"),
      ("payment volumes", "sign-ups", "refund rates", "latency metrics"),
      item_kind="region", branch=("load_data", "detect_anomalies"), merge="merge_results",
      suffix=("write_report", "post_message")),
    # customer support
    B("support-triage", "customer_support",
      ("triage {items} and draft replies", "go through {items}, categorise them and write answers",
       "handle {items}: classify, find the answer and reply"),
      ("the open tickets",), item_kind="ticket", branch=("classify_text", "semantic_search", "write_reply"),
      merge="merge_results", suffix=("update_crm",)),
    B("support-complaint", "customer_support",
      ("respond to {subject}", "write a careful answer to {subject}", "deal with {subject}"),
      ("the angry complaint from a premium customer", "the refund request", "the escalation from legal"),
      side=("extract_entities", "update_crm"), prefix=("analyze_sentiment", "semantic_search", "write_reply", "proofread"), suffix=("send_email",)),
    B("support-feedback-themes", "customer_support",
      ("find the main themes in {subject}", "cluster {subject} into themes and count them",
       "tell me what customers complain about most in {subject}"),
      ("last month's support chats", "the NPS comments", "the app store reviews"),
      prefix=("load_data", "deduplicate", "embed_text", "cluster_items", "summarize"), suffix=("make_chart",)),
    B("support-kb-article", "customer_support",
      ("write a help-centre article about {subject}", "document {subject} for the knowledge base",
       "create a support article explaining {subject}"),
      ("resetting two-factor auth", "exporting invoices", "changing the billing plan"),
      side=("research_topic", "summarize"), prefix=("semantic_search", "create_outline", "draft_text", "proofread"), suffix=("format_output", "store_file")),
    # marketing
    B("marketing-campaign", "marketing",
      ("create a launch campaign for {subject} on {items}", "plan and write posts for {subject} for {items}",
       "prepare the marketing for {subject} across {items}"),
      ("the new Pro plan", "our spring sale", "the mobile app release", "the webinar series"),
      prefix=("research_topic", "plan_work"), item_kind="channel", branch=("write_social_post", "proofread"),
      merge="merge_results", suffix=("request_approval",)),
    B("marketing-competitors", "marketing",
      ("analyse how {items} position themselves against {subject}",
       "do a competitive analysis of {items} versus {subject}",
       "compare the messaging of {items} with {subject}"),
      ("our product", "our pricing page", "our brand"),
      item_kind="competitor", branch=("fetch_page", "summarize", "analyze_sentiment"),
      merge="compare_items", suffix=("write_report",)),
    B("marketing-newsletter", "marketing",
      ("write this month's newsletter about {subject}", "draft a newsletter covering {subject}",
       "put together the newsletter on {subject}"),
      ("product updates", "customer stories", "the conference recap"),
      side=("semantic_search", "summarize"), prefix=("research_topic", "create_outline", "draft_text", "write_headline", "proofread"), suffix=("send_email",)),
    B("marketing-localize", "marketing",
      ("localize {subject} for {items}", "adapt {subject} for the {items} markets",
       "make versions of {subject} for {items}"),
      ("the landing page", "the product brochure", "the onboarding emails"),
      prefix=("extract_text",), item_kind="language", branch=("translate", "localize_content", "proofread"),
      merge="format_output"),
    # translation
    B("translation-subtitles", "translation",
      ("create subtitles for {subject} in {items}", "subtitle {subject} in {items}",
       "transcribe {subject} and make {items} subtitles"),
      ("the product demo video", "the keynote recording", "the training video"),
      prefix=("transcribe_audio", "clean_text"), item_kind="language", branch=("translate", "format_output"),
      merge="store_file"),
    B("translation-docs", "translation",
      ("translate {subject} into {items}", "I need {subject} in {items}", "provide {items} versions of {subject}"),
      ("the user manual", "the terms of service", "the safety instructions", "the FAQ"),
      prefix=("extract_text", "detect_language"), item_kind="language", branch=("translate", "proofread")),
    B("translation-quick", "translation",
      ("translate {subject} into {items}", "quickly put {subject} into {items}"),
      ("this short message", "the greeting card text", "the error message"),
      item_kind="language", branch=("translate",)),
    # media
    B("media-podcast", "media",
      ("turn {items} of the podcast into show notes", "write show notes for {items}",
       "transcribe {items} and produce show notes"),
      ("the podcast",), item_kind="episode", branch=("transcribe_audio", "diarize_speakers", "summarize"),
      merge="format_output", suffix=("write_social_post",)),
    B("media-image-catalog", "media",
      ("describe and tag {items} for the catalogue", "write alt text and tags for {items}",
       "caption {items} and tag them"),
      ("the product photos",), item_kind="image", branch=("caption_image", "tag_keywords"),
      merge="merge_results"),
    B("media-video-script", "media",
      ("write a video script about {subject} with a voice-over", "produce a narrated explainer on {subject}",
       "script and voice a short video on {subject}"),
      ("our onboarding flow", "the new dashboard", "data privacy at our company"),
      prefix=("research_topic", "create_outline", "draft_text", "proofread", "synthesize_speech")),
    B("media-audiobook", "media",
      ("make an audio version of {items}", "record {items} as audio",
       "produce narrated audio for {items}"),
      ("the handbook",), item_kind="chapter", branch=("proofread", "synthesize_speech"), merge="store_file"),
    # legal
    B("legal-contract-review", "legal",
      ("review {items} and flag risky clauses", "check {items} for risks before renewal",
       "go through {items} and list the problem clauses"),
      ("the contracts",), item_kind="contract", branch=("extract_text", "extract_entities", "legal_review"),
      merge="assess_risk", suffix=("write_report",)),
    B("legal-policy-check", "legal",
      ("check {subject} for GDPR compliance", "make sure {subject} complies with our privacy policy",
       "audit {subject} against the data protection rules"),
      ("the signup flow", "the marketing email list", "the analytics setup"),
      side=("semantic_search", "summarize"), prefix=("extract_text", "check_compliance", "assess_risk", "write_report"), suffix=("create_ticket", "request_approval")),
    B("legal-nda-draft", "legal",
      ("draft {subject}", "prepare {subject} for signature", "write up {subject}"),
      ("an NDA for the Globex partnership", "a consulting agreement", "a data processing addendum"),
      side=("semantic_search", "extract_entities"), prefix=("draft_text", "legal_review", "request_approval"), suffix=("proofread", "send_email")),
    # finance
    B("finance-expense-audit", "finance",
      ("audit {subject} for {items}", "check {subject} of {items} for policy violations",
       "review {subject} in {items} and flag anything odd"),
      ("the expense reports", "travel expenses", "card transactions"),
      item_kind="region", branch=("load_data", "extract_fields", "check_compliance"),
      merge="merge_results", suffix=("write_report", "send_email")),
    B("finance-reconcile", "finance",
      ("reconcile {items} with the bank statements", "match {items} against the bank records",
       "do the reconciliation for {items}"),
      ("the ledgers",), item_kind="file", branch=("load_data", "clean_data", "reconcile_records"),
      merge="merge_results", suffix=("detect_anomalies", "write_report")),
    B("finance-invoice-process", "finance",
      ("process {items}", "read {items} and enter them for payment", "handle {items} for accounts payable"),
      ("the invoices",), item_kind="image", branch=("ocr_image", "extract_fields", "check_compliance"),
      merge="merge_results", suffix=("request_approval",)),
    B("finance-earnings-brief", "finance",
      ("brief me on {subject}", "summarise {subject} for the CFO", "what matters in {subject}?"),
      ("the competitor's earnings call", "our Q3 results", "the analyst report"),
      prefix=("fetch_document", "extract_text", "extract_chart_data", "compute_statistics", "summarize")),
    # hr
    B("hr-screen-candidates", "hr",
      ("screen {items} for {subject}", "review the CVs of {items} for {subject}",
       "evaluate {items} for {subject} and shortlist"),
      ("the data engineer role", "the product designer opening", "the sales lead position"),
      prefix=("extract_fields",), item_kind="candidate", branch=("extract_text", "score_candidates"),
      merge="compare_items", suffix=("write_email", "schedule_meeting")),
    B("hr-onboarding", "hr",
      ("prepare onboarding material for {subject}", "put together an onboarding pack for {subject}",
       "create the first-week plan for {subject}"),
      ("new engineers", "the sales team hires", "interns"),
      prefix=("semantic_search", "plan_work", "create_outline", "draft_text", "make_slides")),
    B("hr-survey-analysis", "hr",
      ("analyse {subject}", "tell me what employees said in {subject}", "summarise {subject} by theme"),
      ("the engagement survey", "the exit interviews", "the pulse survey"),
      side=("deduplicate",), prefix=("load_data", "analyze_sentiment", "cluster_items", "compute_statistics", "write_report"), suffix=("make_slides",)),
    # education
    B("edu-quiz", "education",
      ("create a quiz on {items} of {subject}", "write test questions for {items} of {subject}",
       "make a question set covering {items} of {subject}"),
      ("the statistics course", "the onboarding handbook", "the biology textbook"),
      item_kind="chapter", branch=("summarize", "generate_questions"), merge="merge_results",
      suffix=("format_output",)),
    B("edu-grade", "education",
      ("grade {subject} and give feedback", "mark {subject} with comments", "assess {subject}"),
      ("the essay submissions", "the homework answers", "the lab reports"),
      side=("semantic_search",), prefix=("load_data", "grade_answers", "compute_statistics", "write_email"), suffix=("write_report", "store_file")),
    B("edu-lesson-plan", "education",
      ("plan a lesson on {subject}", "design a class about {subject}", "build teaching material on {subject}"),
      ("photosynthesis", "compound interest", "the French revolution", "recursion"),
      prefix=("research_topic", "create_outline", "draft_text", "generate_questions", "make_slides")),
    # devops
    B("devops-incident", "devops",
      ("investigate the incident affecting {items}", "find out why {items} went down",
       "do a root-cause analysis for the outage of {items}"),
      ("the outage",), item_kind="service", branch=("analyze_logs", "detect_anomalies"),
      merge="reason_answer", suffix=("write_report", "create_ticket")),
    B("devops-deploy", "devops",
      ("deploy {items} to production", "roll out the new version of {items}",
       "ship {items} after the checks pass"),
      ("the release",), prefix=("run_tests",), item_kind="service", branch=("write_config", "deploy_service"),
      merge="post_message"),
    B("devops-config-audit", "devops",
      ("audit {subject}", "check {subject} for security problems", "review {subject} for misconfigurations"),
      ("the Kubernetes manifests", "the Terraform setup", "the CI pipeline"),
      side=("analyze_logs", "detect_anomalies"), prefix=("explain_code", "check_compliance", "assess_risk", "create_ticket"), suffix=("write_report",)),
    # sales
    B("sales-account-research", "sales",
      ("research {items} before the sales calls", "prepare account briefs for {items}",
       "get me background on {items} ahead of the meetings"),
      ("the accounts",), item_kind="account", branch=("web_search", "summarize", "update_crm"),
      merge="merge_results", suffix=("schedule_meeting",)),
    B("sales-proposal", "sales",
      ("write a proposal for {subject}", "draft the sales proposal for {subject}",
       "prepare a pitch for {subject}"),
      ("Acme Corp", "the city council tender", "Hooli's data team"),
      prefix=("semantic_search", "research_topic", "draft_text", "proofread", "request_approval")),
    B("sales-followups", "sales",
      ("write follow-up emails to {items}", "send personalised follow-ups to {items}",
       "follow up with {items} after the demo"),
      ("the leads",), item_kind="account", branch=("semantic_search", "write_email", "send_email"),
      merge="update_crm"),
    B("sales-pipeline-review", "sales",
      ("review {subject} and flag deals at risk", "go over {subject} and tell me what might slip",
       "analyse {subject} for the weekly meeting"),
      ("the sales pipeline", "this quarter's deals", "the renewal pipeline"),
      prefix=("load_data", "compute_statistics", "assess_risk", "make_chart", "write_report")),
    # product
    B("product-spec", "product",
      ("write a product spec for {subject}", "turn the ideas for {subject} into a spec",
       "draft requirements for {subject}"),
      ("offline mode", "team workspaces", "usage-based billing"),
      prefix=("semantic_search", "research_topic", "plan_work", "draft_text", "review_code"),
      suffix=("request_approval",)),
    B("product-feedback-products", "product",
      ("collect user feedback on {items} and prioritise fixes",
       "summarise what users think of {items} and what to fix first",
       "gather reviews of {items} and rank the problems"),
      ("our products",), item_kind="product", branch=("semantic_search", "analyze_sentiment", "summarize"),
      merge="compare_items", suffix=("plan_work", "create_ticket")),
)

ADDONS: tuple[AddOn, ...] = (
    AddOn("email", ("and email the result to {person}", "then send it to {person} by email",
                    "and mail it over to {person}"), ("write_email", "proofread", "send_email")),
    AddOn("slides", ("and turn it into slides for {audience}", "then make a short deck for {audience}",
                     "and prepare slides for {audience}"), ("create_outline", "make_slides", "proofread")),
    AddOn("review", ("and have it checked and approved before it goes out",
                     "then get it fact-checked and signed off", "and make sure it is verified and approved"),
          ("fact_check", "assess_risk", "request_approval")),
    AddOn("voice", ("plus a short audio version", "and record a voice-over of it",
                    "and also produce an audio summary"), ("summarize", "draft_text", "synthesize_speech")),
    AddOn("store", ("and save everything to the shared drive", "then file it on the shared drive",
                    "and archive the results in the shared folder"), ("format_output", "tag_keywords", "store_file")),
    AddOn("post", ("and post a summary to the team channel", "then share a recap in the team chat",
                   "and let the team know in the channel"), ("summarize", "write_social_post", "post_message")),
)


def _variants(index: int, base: Base) -> list[tuple[AddOn, ...]]:
    """Four add-on sets per base; workflows without branches get more add-ons so sizes stay varied."""
    a, b, c, d = (ADDONS[(index + k) % 6] for k in (0, 2, 3, 4))
    if base.item_kind is None:
        return [(), (a, b), (a, b, c), (b, c, d)]
    return [(a,), (b,), (a, c), (a, b, c)]


def build_templates() -> tuple[Template, ...]:
    templates = []
    for i, base in enumerate(BASES):
        for addons in _variants(i, base):
            suffix = "".join(f"+{a.name}" for a in addons)
            templates.append(Template(base.name + suffix, base, addons))
    return tuple(templates)


TEMPLATES: tuple[Template, ...] = build_templates()
DOMAINS: tuple[str, ...] = tuple(sorted({b.domain for b in BASES}))
