package sqlite

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
)

// corpus makes spans whose text looks, to a full-text index, like what LLM
// applications send: English, French, Russian and Japanese prose in which
// word frequencies follow Zipf's law over a large vocabulary (a few words
// in every span, most words in very few), with numbers and identifiers
// mixed in and a system prompt repeated across spans.
type corpus struct {
	rng  *rand.Rand
	zipf *rand.Zipf
	n    int
}

// vocabularySize is the distinct words per language; the tail is made of
// pronounceable pseudo-words, as a real vocabulary's tail is names, jargon
// and typos.
const vocabularySize = 200_000

func newCorpus(seed uint64) *corpus {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &corpus{rng: rng, zipf: rand.NewZipf(rng, 1.1, 2, vocabularySize-1)}
}

type language int

const (
	english language = iota
	french
	russian
	japanese
)

var common = [...][]string{
	english: strings.Fields(`the of and to a in is it you that he was for on are with as I his they be at one
		have this from or had by not word but what some we can out other were all there when up use your how said
		an each she which do their time if will way about many then them write would like so these her long make
		thing see him two has look more day could go come did number sound no most people my over know water than
		call first who may down side been now find any new work part take get place made live where after back
		little only round man year came show every good me give our under name very through just form sentence
		great think say help low line differ turn cause much mean before move right boy old too same tell does set
		three want air well also play small end put home read hand port large spell add even land here must big
		high such follow act why ask men change went light kind off need house picture try us again animal point
		database refund invoice account customer order payment error request response model prompt token answer
		question document search result query table index cluster deploy service user password email support`),
	french: strings.Fields(`le la les de des du un une et à en est que qui dans pour pas sur au avec il elle
		ce cette ces se sa son ses leur nous vous ils sont été être avoir fait faire plus très bien tout tous
		mais comme où donc or ni car déjà après avant aussi même encore toujours jamais peut-être voilà voici
		commande facture remboursement client compte paiement erreur réponse requête modèle données réseau
		café crème garçon français élève théâtre hôpital forêt fenêtre château naïf noël ça à côté première
		déployer sécurité mot de passe courriel réservation livraison problème numéro prénom adresse société`),
	russian: strings.Fields(`и в не на я быть он с что а по это она этот к но они мы как из у который то
		за свой что весь год от так о для ты же все тот мочь вы человек такой его сказать только или ещё бы
		себя один как уже до время если сам когда другой вот говорить наш мой знать стать при чтобы дело
		жизнь кто первый очень два день её новый рука даже во со раз где там под можно ну какой после их
		работа без самый потом надо хотеть ли слово идти большой должен место иметь ничто заказ счёт возврат
		клиент платёж ошибка ответ запрос модель данные сервер база поиск документ вопрос пароль пользователь`),
	japanese: strings.Fields(`の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など
		なっ ない この ため その あっ よう また もの という あり まで られ なる へ か だ これ によって により おり
		より による ず なり られる において ば なかっ なく しかし について せ だっ その後 できる それ う ので
		なお のみ でき き つ における および いう さらに でも ら たり その他 に関する たち ます ん なら に対して
		特に せる 及び これら とき では にて ほか ながら うち そして とともに ただし かつて それぞれ または
		注文 請求書 返金 顧客 支払い エラー 応答 要求 模型 データ 検索 文書 質問 東京 天気 会社 利用者 暗証番号`),
}

// syllables build each language's pseudo-words.
var syllables = [...][]string{
	english:  strings.Fields("ba be bi bo bu ca co cu da de di do fa fe fi fo ga go la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi wa we wi za ze ing er ed ly tion st str th ch sh"),
	french:   strings.Fields("ba bé bi bo ca cé ci co da dé di do fa fé fi la lé li lo ma mé mi mo na né ni no pa pé pi po ra ré ri ro sa sé si so ta té ti to va vé vi è à ç eau ou oi ille tion ment"),
	russian:  strings.Fields("ба бе би бо бу ва ве ви во га ге ги го да де ди до жа же за зе ка ке ки ко ла ле ли ло ма ме ми мо на не ни но па пе пи по ра ре ри ро са се си со та те ти то ча че ща ся ть ый ой ий"),
	japanese: strings.Fields("東 京 大 阪 学 校 電 話 会 社 時 間 新 聞 天 気 食 事 自 動 車 言 語 経 済 政 治 文 化 科 技 術 情 報 開 発 設 計 管 理 運 用 保 守 品 質 価 格 市 場 顧 客 注 意 ア イ ウ エ オ カ キ ク ケ コ サ シ ス セ ソ タ チ ツ テ ト ナ ニ"),
}

// word returns word i of a language's vocabulary: the common words first.
func word(lang language, i int) string {
	if i < len(common[lang]) {
		return common[lang][i]
	}
	syl := syllables[lang]
	var b strings.Builder
	for i -= len(common[lang]); ; i /= len(syl) {
		b.WriteString(syl[i%len(syl)])
		if i < len(syl) {
			break
		}
	}
	return b.String()
}

// text returns about n bytes of prose in lang.
func (c *corpus) text(lang language, n int) string {
	var b strings.Builder
	sep := " "
	if lang == japanese {
		sep = ""
	}
	for b.Len() < n {
		switch r := c.rng.IntN(40); {
		case r == 0:
			fmt.Fprintf(&b, "%s%d", sep, c.rng.IntN(100_000))
		case r == 1:
			fmt.Fprintf(&b, "%sORD-%06d", sep, c.rng.IntN(1_000_000))
		case r < 4 && lang == japanese:
			b.WriteString("。")
		case r < 4:
			b.WriteString(". ")
		default:
			b.WriteString(sep)
			b.WriteString(word(lang, int(c.zipf.Uint64())))
		}
	}
	return b.String()
}

var systemPrompts = [...]string{
	english:  "You are the support assistant of a hosted database service. Answer from the documentation only, cite the documents you used, and ask for the account id before changing anything.",
	french:   "Vous êtes l'assistant du service client d'une base de données hébergée. Répondez uniquement à partir de la documentation et citez vos sources.",
	russian:  "Вы помощник службы поддержки облачной базы данных. Отвечайте только по документации и указывайте источники.",
	japanese: "あなたはホスティング型データベースサービスのサポート担当です。ドキュメントのみに基づいて回答し、使用した文書を引用してください。",
}

// language picks a span's language: English for about half, the rest split.
func (c *corpus) language() language {
	switch r := c.rng.IntN(20); {
	case r < 11:
		return english
	case r < 14:
		return french
	case r < 17:
		return russian
	default:
		return japanese
	}
}

// spans returns n LLM and CHAIN spans of project, each with about 1.5 KB of text:
// a system prompt, a question (also as input.value), an answer and a
// retrieved document.
func (c *corpus) spans(project string, n int, start int64) []span.Span {
	out := make([]span.Span, n)
	for i := range out {
		c.n++
		lang := c.language()
		question, answer, doc := c.text(lang, 300), c.text(lang, 650), c.text(lang, 350)
		kind := "LLM"
		if c.n%4 == 0 {
			kind = "CHAIN"
		}
		// Eight spans a trace, the first the parent of the others.
		first := (c.n-1)/8*8 + 1
		sp := span.Span{
			Project:    project,
			TraceID:    fmt.Sprintf("%032x", first),
			SpanID:     fmt.Sprintf("%016x", c.n),
			Name:       "llm.chat",
			StartTime:  start + int64(c.n)*1e6,
			EndTime:    start + int64(c.n)*1e6 + 5e8,
			StatusCode: span.StatusOK,
			Attributes: span.Attributes{
				{Key: span.AttrSpanKind, Value: span.StringValue(kind)},
				{Key: span.AttrModelName, Value: span.StringValue("gpt-4o-mini")},
				{Key: "llm.input_messages.0.message.role", Value: span.StringValue("system")},
				{Key: "llm.input_messages.0.message.content", Value: span.StringValue(systemPrompts[lang])},
				{Key: "llm.input_messages.1.message.role", Value: span.StringValue("user")},
				{Key: "llm.input_messages.1.message.content", Value: span.StringValue(question)},
				{Key: "llm.output_messages.0.message.role", Value: span.StringValue("assistant")},
				{Key: "llm.output_messages.0.message.content", Value: span.StringValue(answer)},
				{Key: "retrieval.documents.0.document.content", Value: span.StringValue(doc)},
				{Key: span.AttrInputValue, Value: span.StringValue(question)},
				{Key: span.AttrOutputValue, Value: span.StringValue(answer)},
			},
		}
		if c.n != first {
			sp.ParentID = fmt.Sprintf("%016x", first)
		}
		span.Normalize(&sp)
		out[i] = sp
	}
	return out
}
