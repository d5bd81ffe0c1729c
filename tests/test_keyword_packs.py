"""Keyword packs for Spanish, French, Italian, Portuguese, Dutch and Polish in the built-in
rules: every language-bound rule removes its kind of chrome in each of these languages, and
no line rule fires on article prose that merely contains one of its keywords.

The lines here are written for these tests, apart from the rules' own examples (which the
loader checks): a second set of chrome lines per rule and language, and sentences and
headlines of the kind news and blog pages print, each holding a word some rule looks for."""

from __future__ import annotations

import pytest
from conftest import chrome_missed, prose_fired

from curate.rules import load_rules
from curate.stages.noise import rule_hits_text

pytestmark = pytest.mark.unit

LANGS = ("es", "fr", "it", "pt", "nl", "pl")

# rule -> one chrome line per language that this very rule must remove.
CHROME: dict[str, dict[str, str]] = {
    "login-link": {
        "es": "Cerrar sesión", "fr": "Se déconnecter", "it": "Il mio profilo",
        "pt": "Criar conta", "nl": "Account aanmaken", "pl": "Załóż konto",
    },
    "ad-label": {
        "es": "Anuncio", "fr": "Article sponsorisé", "it": "Articolo sponsorizzato",
        "pt": "Anúncio", "nl": "Advertenties", "pl": "Treść sponsorowana",
    },
    "breadcrumb": {
        "es": "Portada > Deportes > Fútbol", "fr": "Accueil » Sport » Football", "it": "Home » Sport » Calcio",
        "pt": "Página inicial > Desporto > Futebol", "nl": "Startpagina > Sport > Voetbal",
        "pl": "Strona główna > Sport > Piłka nożna",
    },
    "byline": {
        "es": "Escrito por Carmen Ruiz", "fr": "Écrit par Sophie Martin", "it": "Scritto da Luca Ferrari",
        "pt": "Por Maria do Carmo Alves", "nl": "Geschreven door Sanne van der Berg", "pl": "Autor: Piotr Wiśniewski",
    },
    "comment-widget": {
        "es": "No hay comentarios", "fr": "Aucun commentaire", "it": "Nessun commento",
        "pt": "Nenhum comentário", "nl": "Geen reacties", "pl": "Brak komentarzy",
    },
    "comment-form": {
        "es": "Debes iniciar sesión para publicar un comentario.",
        "fr": "Vous devez être connecté pour publier un commentaire.",
        "it": "Devi essere connesso per inviare un commento.",
        "pt": "Você precisa fazer o login para publicar um comentário.",
        "nl": "Je moet ingelogd zijn om een reactie te plaatsen.",
        "pl": "Musisz się zalogować, aby dodać komentarz.",
    },
    "spam-notice": {
        "es": "Este sitio usa Akismet para reducir el spam.",
        "fr": "Ce site utilise Akismet pour réduire les indésirables.",
        "it": "Questo sito usa Akismet per ridurre lo spam.",
        "pt": "Este site usa o Akismet para reduzir spam.",
        "nl": "Deze site gebruikt Akismet om spam te bestrijden.",
        "pl": "Ta strona używa Akismet do redukcji spamu.",
    },
    "cookie-banner": {
        "es": "Usamos cookies propias y de terceros para analizar el tráfico.",
        "fr": "Nous utilisons des cookies pour mesurer l'audience du site.",
        "it": "Questo sito web usa i cookie per migliorare la tua esperienza.",
        "pt": "Utilizamos cookies para personalizar conteúdos e anúncios.",
        "nl": "Wij gebruiken cookies om onze website te verbeteren.",
        "pl": "Używamy plików cookies, aby ułatwić korzystanie z serwisu.",
    },
    "cookie-controls": {
        "es": "Configurar cookies", "fr": "Gérer les cookies", "it": "Gestisci i cookie",
        "pt": "Gerir cookies", "nl": "Cookies weigeren", "pl": "Ustawienia plików cookies",
    },
    "privacy-link": {
        "es": "Términos y condiciones | Política de cookies", "fr": "CGU | Politique des cookies",
        "it": "Termini e condizioni | Privacy", "pt": "Termos e condições · Política de cookies",
        "nl": "Algemene voorwaarden | Privacy", "pl": "Polityka cookies | Regulamin serwisu",
    },
    "photo-credit": {
        "es": "Fotografía: Europa Press", "fr": "Photo : AFP", "it": "Foto di repertorio",
        "pt": "Fotografia: Lusa", "nl": "Foto: ANP", "pl": "fot. Shutterstock",
    },
    "translation-disclaimer": {
        "es": "Este texto fue publicado originalmente en inglés en The Conversation.",
        "fr": "Cet article a été publié initialement sur The Conversation.",
        "it": "Articolo tradotto automaticamente dall'inglese.",
        "pt": "Este texto foi publicado originalmente no site The Conversation.",
        "nl": "Dit artikel is eerder gepubliceerd op de website van de krant.",
        "pl": "Tekst ukazał się pierwotnie na łamach tygodnika.",
    },
    "end-mark": {
        "es": "- Fin -", "fr": "(FIN)", "it": "- Fine -", "pt": "- Fim -", "nl": "[Einde]", "pl": "- Koniec -",
    },
    "editor-stamp": {
        "es": "(Redacción: Pedro Gómez)", "fr": "Rédactrice : Claire Petit", "it": "A cura di: Paolo Conti",
        "pt": "Redação: Ana Sousa", "nl": "Redactie: Eva de Jong", "pl": "Redaktor: Tomasz Zieliński",
    },
    "feedback-widget": {
        "es": "¿Esta información te ha sido útil?", "fr": "Avez-vous trouvé cet article utile ?",
        "it": "Hai trovato utile questo articolo?", "pt": "Achou este artigo útil?",
        "nl": "Vond u deze pagina nuttig?", "pl": "Czy ta odpowiedź była pomocna?",
    },
    "chrome-keyword-short": {
        "es": "Contáctanos por WhatsApp", "fr": "Contactez-nous dès aujourd'hui", "it": "Contattaci per un preventivo",
        "pt": "Fale conosco pelo WhatsApp", "nl": "Neem contact op met de redactie", "pl": "Skontaktuj się z nami",
    },
    "chrome-keyword": {
        "es": "Regístrate gratis y accede a todos los contenidos de la web",
        "fr": "Identifiez-vous pour accéder à tous les contenus du site",
        "it": "Lascia un commento e partecipa alla discussione con gli altri lettori",
        "pt": "Cadastre-se gratuitamente e tenha acesso a todos os conteúdos do site",
        "nl": "Meld je aan en lees alle artikelen op de site zonder beperkingen",
        "pl": "Zarejestruj się i czytaj wszystkie artykuły w serwisie bez ograniczeń",
    },
    "chrome-keyword-long": {
        "es": "Al enviar este formulario declaras: he leído y acepto la política de privacidad del sitio.",
        "fr": "En vous inscrivant, vous acceptez notre politique de confidentialité et nos conditions générales.",
        "it": "Inviando il modulo dichiaro: ho letto e accetto le condizioni del servizio.",
        "pt": "Ao enviar, declaro que li e aceito a política de privacidade e os termos de utilização do site.",
        "nl": "Door je aan te melden ga je akkoord met de algemene voorwaarden en het privacybeleid van de uitgever.",
        "pl": "Wysyłając formularz, akceptujesz regulamin serwisu i politykę prywatności wydawcy.",
    },
    "caption-credit": {
        "es": "Los manifestantes, frente al Congreso. Fotografía: Efe",
        "fr": "Les manifestants devant l'Assemblée. Crédit photo : Reuters",
        "it": "I manifestanti davanti al Parlamento. Immagine: Ansa",
        "pt": "Os manifestantes em frente ao Parlamento. Imagem: Lusa",
        "nl": "Demonstranten voor het Binnenhof. Beeld: ANP",
        "pl": "Demonstranci przed Sejmem. Fot. PAP",
    },
    "copyright-line": {
        "es": "© 2024 Diario Ejemplo. Reservados todos los derechos.",
        "fr": "Tous droits de reproduction réservés",
        "it": "Riproduzione riservata",
        "pt": "Copyright 2024 Jornal Exemplo. Todos os direitos reservados.",
        "nl": "Copyright 2024 Voorbeeld Media. Alle rechten voorbehouden.",
        "pl": "Copyright 2024 Przykład. Wszystkie prawa zastrzeżone.",
    },
    "footer-link": {
        "es": "Trabaja con nosotros", "fr": "Qui sommes-nous ?", "it": "Contatti", "pt": "Trabalhe conosco",
        "nl": "Werken bij", "pl": "Deklaracja dostępności",
    },
    "site-credit": {
        "es": "Sitio web desarrollado por Agencia Ejemplo", "fr": "Conception et réalisation : Agence Exemple",
        "it": "Realizzazione siti web Esempio Srl", "pt": "Criação de sites: Agência Exemplo",
        "nl": "Ontwerp en realisatie: Voorbeeld Media", "pl": "Realizacja strony: Przykład Studio",
    },
    "skip-link": {
        "es": "Saltar a la navegación", "fr": "Aller au menu", "it": "Salta al contenuto principale",
        "pt": "Saltar para o conteúdo", "nl": "Spring naar de inhoud", "pl": "Pomiń nawigację",
    },
    "search-box": {
        "es": "¿Qué estás buscando?", "fr": "Que recherchez-vous ?", "it": "Cosa stai cercando?",
        "pt": "O que procura?", "nl": "Waar ben je naar op zoek?", "pl": "Czego szukasz?",
    },
    "back-link": {
        "es": "Volver al inicio", "fr": "Retour à l'accueil", "it": "Torna all'inizio",
        "pt": "Voltar ao início", "nl": "Terug naar het overzicht", "pl": "Wróć do strony głównej",
    },
    "print-link": {
        "es": "Imprimir esta página", "fr": "Imprimer cette page", "it": "Stampa questa pagina",
        "pt": "Imprimir esta página", "nl": "Pagina afdrukken", "pl": "Drukuj stronę",
    },
    "newsletter-prompt": {
        "es": "Apúntate a nuestra newsletter", "fr": "Recevez notre newsletter",
        "it": "Ricevi la nostra newsletter", "pt": "Receba a nossa newsletter",
        "nl": "Ontvang onze nieuwsbrief", "pl": "Zapisz się na newsletter",
    },
    "paywall-prompt": {
        "es": "Hazte suscriptor y lee sin límites", "fr": "La suite est réservée aux abonnés.",
        "it": "Abbonati per continuare a leggere", "pt": "Assine para continuar lendo",
        "nl": "Word abonnee en lees onbeperkt", "pl": "Wykup subskrypcję, aby czytać dalej",
    },
    "read-more": {
        "es": "Sigue leyendo", "fr": "Continuer la lecture", "it": "Scopri di più",
        "pt": "Continue lendo", "nl": "Verder lezen →", "pl": "Dowiedz się więcej",
    },
    "pagination": {
        "es": "« Anterior", "fr": "Suivant »", "it": "« Precedente",
        "pt": "Próximo »", "nl": "Vorige", "pl": "Następna »",
    },
    "post-navigation": {
        "es": "Entrada siguiente: Receta de pan casero", "fr": "Billet suivant → Les vendanges de 2024",
        "it": "Post precedente Le spiagge più belle della Sardegna", "pt": "Próximo artigo: Como cuidar de orquídeas",
        "nl": "Volgend artikel Fietsen langs de Maas", "pl": "Następny wpis: Przepis na pierogi ruskie",
    },
    "form-message": {
        "es": "Por favor, introduce un correo electrónico válido.", "fr": "Veuillez saisir une adresse e-mail valide.",
        "it": "Inserisci un indirizzo email valido.", "pt": "Por favor, insira um endereço de e-mail válido.",
        "nl": "Vul een geldig e-mailadres in.", "pl": "Podaj poprawny adres e-mail.",
    },
    "page-edited": {
        "es": "Esta página fue modificada por última vez el 3 de mayo de 2024.",
        "fr": "La dernière modification de cette page a été faite le 3 mai 2024 à 10:12.",
        "it": "Questa pagina è stata modificata per l'ultima volta il 3 maggio 2024.",
        "pt": "Esta página foi modificada pela última vez em 3 de maio de 2024.",
        "nl": "Deze pagina is laatst gewijzigd op 3 mei 2024.", "pl": "Tę stronę ostatnio zmodyfikowano 3 maja 2024.",
    },
    "widget-control": {
        "es": "× Cerrar ventana", "fr": "Fermer la fenêtre", "it": "Caricamento…",
        "pt": "A carregar...", "nl": "Venster sluiten", "pl": "Zamknij okno",
    },
    "see-also-headline": {
        "es": "Te puede interesar\nLos precios del alquiler siguen subiendo en Madrid",
        "fr": "Lire aussi\nLa grève des contrôleurs perturbe le trafic aérien",
        "it": "Leggi anche\nIl Senato approva la riforma della giustizia",
        "pt": "Veja também:\nPreço da gasolina volta a subir esta semana",
        "nl": "Lees ook:\nTreinverkeer rond Utrecht urenlang plat",
        "pl": "Zobacz także\nSejm przyjął ustawę o ochronie zwierząt",
    },
    "time-ago": {
        "es": "Actualizado hace 5 minutos", "fr": "Mis à jour il y a 2 jours", "it": "Aggiornato 5 minuti fa",
        "pt": "Publicado há 3 horas", "nl": "Bijgewerkt 2 dagen geleden", "pl": "Zaktualizowano 5 minut temu",
    },
    "view-count": {
        "es": "Visitas: 12.345", "fr": "Vues : 12 345", "it": "12.345 letture",
        "pt": "12.345 leituras", "nl": "12.345 keer gelezen", "pl": "Odsłony: 12345",
    },
    "media-link": {
        "es": "Fotogalería", "fr": "Voir le diaporama", "it": "Fotogallery",
        "pt": "Fotogaleria", "nl": "Fotogalerij", "pl": "Fotorelacja",
    },
    "agency-credit": {
        "es": "Europa Press", "fr": "Rédaction / Reuters", "it": "Con Ansa",
        "pt": "Com Lusa", "nl": "Met ANP", "pl": "PAP",
    },
    "social-embed": {
        "es": "Ver esta publicación en Instagram", "fr": "Voir cette publication sur Instagram",
        "it": "Visualizza questo post su Instagram", "pt": "Uma publicação compartilhada por Ana (@ana.lima)",
        "nl": "Dit bericht op Instagram bekijken", "pl": "Wyświetl ten post na Instagramie",
    },
    "forum-control": {
        "es": "Responder citando", "fr": "Répondre en citant", "it": "Rispondi citando",
        "pt": "Responder com citação", "nl": "Reageer met citaat", "pl": "Odpowiedz z cytatem",
    },
    "shop-control": {
        "es": "Seleccionar talla", "fr": "Choisir la taille", "it": "Seleziona la taglia",
        "pt": "Selecione o tamanho", "nl": "Kies je maat", "pl": "Wybierz rozmiar",
    },
    "edit-link": {
        "es": "Editar en GitHub", "fr": "Modifier sur GitHub", "it": "Modifica su GitHub",
        "pt": "Editar no GitHub", "nl": "Bewerk deze pagina", "pl": "Edytuj na GitHubie",
    },
    "ad-continue": {
        "es": "La noticia sigue tras la publicidad", "fr": "L'article continue sous cette publicité",
        "it": "Continua a leggere dopo la pubblicità", "pt": "O texto continua após a publicidade",
        "nl": "Het artikel gaat verder onder de advertentie", "pl": "Artykuł jest kontynuowany poniżej",
    },
    "reading-time": {
        "es": "Tiempo de lectura: 5 min", "fr": "Durée de lecture : 6 minutes", "it": "Tempo di lettura: 2 min",
        "pt": "3 min de leitura", "nl": "Leestijd 7 minuten", "pl": "Czas lektury: 4 minuty",
    },
    "cart-button": {
        "es": "29,99 € Añadir al carrito", "fr": "Ajouter au panier →", "it": "€ 19,90 Aggiungi al carrello",
        "pt": "R$ 99 Adicionar ao carrinho", "nl": "In de winkelwagen", "pl": "49 zł Dodaj do koszyka",
    },
    "post-footer": {
        "es": "Esta entrada fue publicada en Deportes y etiquetada Fútbol. Guarda el enlace permanente.",
        "fr": "Voir tous les articles par Claire Dubois", "it": "Questa voce è stata pubblicata in Cucina.",
        "pt": "Ver todos os artigos de João Pereira", "nl": "Dit bericht werd geplaatst op 3 mei 2021 in Sport.",
        "pl": "Zobacz wszystkie wpisy autora Anna Kowalska",
    },
    "no-liability": {
        "es": "Salvo errores u omisiones.", "fr": "Sauf erreurs ou omissions", "it": "Salvo errori ed omissioni.",
        "pt": "Salvo erros e omissões.", "nl": "Fouten voorbehouden.", "pl": "Ceny bez gwarancji",
    },
    "related-heading": {
        "es": "Te recomendamos", "fr": "Dans la même rubrique", "it": "Sullo stesso argomento",
        "pt": "Notícias relacionadas", "nl": "Meer nieuws", "pl": "Może cię zainteresować",
    },
    "see-also-link": {
        "es": "Lea también: Las claves del nuevo presupuesto", "fr": "À lire également : Le budget en cinq questions",
        "it": "Vedi anche: Le novità della manovra", "pt": "Veja também: As novidades do orçamento",
        "nl": "Zie ook: Dit verandert er in de begroting", "pl": "Zobacz też: Co zmienia nowy budżet",
    },
    "share-bar": {
        "es": "Compartir", "fr": "Partagez", "it": "Condividi", "pt": "Partilhe", "nl": "Deel dit", "pl": "Podziel się",
    },
    "share-link": {
        "es": "Haz clic para imprimir (Se abre en una ventana nueva)",
        "fr": "Cliquez pour imprimer(ouvre dans une nouvelle fenêtre)",
        "it": "Fai clic per stampare (Si apre in una nuova finestra)",
        "pt": "Clique para imprimir(abre em nova janela)",
        "nl": "Klik om af te drukken (Wordt in een nieuw venster geopend)",
        "pl": "Kliknij, aby wydrukować (Otwiera się w nowym oknie)",
    },
    "release-stamp": {
        "es": "Última actualización: 3 de mayo de 2023", "fr": "Dernière mise à jour : 3 mai 2023",
        "it": "Ultimo aggiornamento: 3 maggio 2023", "pt": "Última atualização: 3 de maio de 2023",
        "nl": "Laatste update: 3 mei 2023", "pl": "Data aktualizacji: 3 maja 2023",
    },
    "date-line": {
        "es": "viernes, 3 de mayo de 2023", "fr": "vendredi 3 mai 2023", "it": "venerdì 3 maggio 2023",
        "pt": "sexta-feira, 3 de maio de 2023", "nl": "vrijdag 3 mei 2023", "pl": "piątek, 3 maja 2023",
    },
    "tag-list": {
        "es": "Temas: Elecciones, Congreso", "fr": "Thèmes : Élections, Assemblée", "it": "Categorie: Politica, Esteri",
        "pt": "Tags: Eleições, Parlamento", "nl": "Tags: Verkiezingen, Tweede Kamer", "pl": "Kategoria: Polityka",
    },
    "tag-heading": {
        "es": "Etiquetas", "fr": "Catégories", "it": "Parole chiave", "pt": "Categorias", "nl": "Trefwoorden",
        "pl": "Słowa kluczowe",
    },
    "browser-notice": {
        "es": "Para usar esta web necesitas activar JavaScript en tu navegador.",
        "fr": "Votre navigateur ne prend pas en charge la lecture de cette vidéo.",
        "it": "Il tuo browser non supporta la riproduzione di questo video.",
        "pt": "O seu navegador está desatualizado, atualize-o para ver esta página.",
        "nl": "Je gebruikt een verouderde browser, update je browser voor de beste ervaring.",
        "pl": "JavaScript jest wyłączony w Twojej przeglądarce.",
    },
}

# Article prose and headlines that hold a word some rule looks for: no line rule may fire.
PROSE: dict[str, list[str]] = {
    "es": [
        "El acuerdo fue suscrito por ambos países en Bruselas el pasado martes.",
        "El presidente no quiso comentar la decisión del tribunal.",
        "Los comentarios del ministro provocaron una fuerte reacción en la oposición.",
        "Compartir coche se ha convertido en una alternativa barata para ir al trabajo.",
        "La publicidad infantil, a debate en el Congreso",
        "El autor del crimen fue detenido en Sevilla.",
        "El libro fue publicado en 1990 y vendió más de un millón de ejemplares.",
        "Por la mañana, los vecinos cortaron la calle durante dos horas.",
        "El diario superó los 100.000 suscriptores digitales en 2023, según la empresa.",
        "Quiero leer más libros este año, dijo la ministra en la entrevista.",
        "Los delitos relacionados con drogas bajaron un 12 % en 2022.",
        "Siguiente paso: la reforma de las pensiones",
        "Más dinero para las escuelas rurales",
        "Entrar en la Unión Europea fue el gran objetivo del país durante décadas.",
        "Fotos de la boda real muestran a los invitados llegando a la catedral bajo la lluvia.",
        "Sin comentarios del ministro tras la votación en el Congreso.",
        "El navegador de Mozilla perdió cuota frente a Chrome, según el último informe del sector.",
        "La empresa busca programadores con experiencia en JavaScript y Python.",
    ],
    "fr": [
        "La plateforme revendique 10 millions d'abonnés en France.",
        "Le prix de l'abonnement augmente de deux euros par mois à partir de janvier.",
        "Partager les tâches ménagères reste un combat pour beaucoup de couples.",
        "Le ministre n'a fait aucun commentaire sur les chiffres publiés mardi.",
        "Les commentaires du président ont suscité la colère des syndicats.",
        "La publicité pour les jeux d'argent sera limitée pendant les matchs.",
        "Par ailleurs, la mairie a annoncé la fermeture du pont pour travaux.",
        "Le livre a été publié en 1962 et réédité dix fois depuis.",
        "Il faut voir aussi les conséquences pour les familles les plus modestes.",
        "Accueil des réfugiés : la mairie ouvre un nouveau centre",
        "Plus de la moitié des sondés se disent favorables à la réforme.",
        "Suivant les recommandations du médecin, il a arrêté de fumer.",
        "Pour se connecter au réseau, les habitants du village doivent encore marcher jusqu'à la mairie.",
        "Le navigateur de Google équipe deux ordinateurs sur trois en France.",
        "Le cours d'initiation à JavaScript est gratuit pour les demandeurs d'emploi.",
    ],
    "it": [
        "Sono stati registrati 300 nuovi casi nelle ultime ventiquattro ore.",
        "Condividi la tua esperienza con gli altri genitori, ha suggerito la preside.",
        "La pubblicità dei giochi d'azzardo è vietata in Italia dal 2019.",
        "Di fronte alla crisi, il governo ha varato un nuovo decreto.",
        "Di Maio, intanto, ha convocato i vertici del partito.",
        "Il libro è stato pubblicato nel 1958 e tradotto in trenta lingue.",
        "Mio padre continua a leggere tre giornali al giorno.",
        "Altro che crisi: i consumi crescono del 3 per cento",
        "Le foto di Roma mostrano la città deserta durante il lockdown.",
        "Cerca lavoro da due anni senza trovare nulla, racconta il figlio.",
        "Accedi al portale con lo SPID: così il Comune spiega la nuova procedura ai cittadini.",
        "Gli iscritti al partito sono scesi sotto i centomila.",
        "I commenti del ministro hanno irritato l'opposizione.",
        "Il browser di Google è installato su due computer su tre.",
        "Il corso di JavaScript per principianti inizia a settembre.",
    ],
    "pt": [
        "O acordo foi subscrito por 20 países durante a cimeira.",
        "O ministro recusou-se a comentar a decisão do tribunal.",
        "Os comentários do treinador irritaram os adeptos.",
        "Partilhar casa tornou-se comum entre os jovens de Lisboa.",
        "A publicidade dirigida a crianças será proibida a partir de janeiro.",
        "Por causa da chuva, o jogo foi adiado para domingo.",
        "O autor do crime foi detido em Braga.",
        "Publicado em 1990, o livro vendeu mais de um milhão de exemplares.",
        "Mais dinheiro para as escolas do interior",
        "Os assinantes do jornal cresceram 10% no último ano.",
        "Para entrar no museu, os visitantes precisam de reservar o bilhete com uma semana de antecedência.",
        "Início do ano letivo marcado por greves",
        "O navegador da Mozilla perdeu utilizadores para o Chrome no último ano.",
        "A empresa procura programadores com experiência em JavaScript.",
    ],
    "nl": [
        "Grote delen van Nederland staan onder water na de storm.",
        "Het aantal abonnees daalde vorig jaar met tien procent.",
        "De reacties op het kabinetsbesluit waren overwegend negatief.",
        "Meer geld voor onderwijs in het nieuwe regeerakkoord",
        "Door de regen werd de wedstrijd uitgesteld.",
        "Inloggen met DigiD lukte dinsdag urenlang niet, meldt de overheid.",
        "Het boek werd gepubliceerd in 1990 en is nooit herdrukt.",
        "Volgende week begint de verbouwing van het station.",
        "Lees ook het rapport van de commissie voordat u een oordeel velt.",
        "Reclame voor gokken wordt vanaf juli verboden.",
        "Terug naar de tekentafel voor het stadsbestuur",
        "Start/stop-systemen besparen weinig brandstof in de stad, blijkt uit metingen.",
        "De browser van Mozilla verloor vorig jaar marktaandeel aan Chrome.",
        "De cursus JavaScript voor beginners begint in september.",
    ],
    "pl": [
        "Polacy chcą zobaczyć zmiany w systemie podatkowym.",
        "Rzecznik odmówił komentarza w tej sprawie.",
        "Dzieci coraz rzadziej czytają książki, wynika z badania.",
        "Coraz więcej Polaków pracuje zdalnie",
        "Reklama alkoholu w telewizji będzie zakazana przed godziną 23.",
        "Autor książki mieszka od lat w Krakowie i pisze o historii miasta.",
        "Kontakt z rodziną urwał się po trzech dniach.",
        "Następna sesja rady miasta odbędzie się w czwartek.",
        "Udostępnianie danych medycznych budzi wątpliwości ekspertów.",
        "Wydawnictwo opublikowało w 2020 roku jego wspomnienia.",
        "Powrót do szkoły po wakacjach oznacza wydatki dla rodziców.",
        "Zobacz też, jak zmieniły się ceny, radzi ekonomista.",
        "Przeglądarka Mozilli straciła w zeszłym roku udziały na rzecz Chrome.",
        "Kurs JavaScript dla początkujących rusza we wrześniu.",
    ],
}


@pytest.fixture(scope="module")
def pack():
    return load_rules([], builtin=True)


@pytest.fixture(scope="module")
def line_rules(pack):
    return [rule for rule in pack.in_order if rule.scope == "line"]


@pytest.mark.parametrize("rule_name", sorted(CHROME))
def test_every_language_bound_rule_removes_its_chrome_in_every_pack_language(pack, rule_name):
    assert set(CHROME[rule_name]) == set(LANGS)
    assert chrome_missed(pack, rule_name, CHROME[rule_name]) == {}


@pytest.mark.parametrize("rule_name", sorted(CHROME))
def test_every_extended_rule_carries_examples_beyond_english_and_german(pack, rule_name):
    # at least one match and one keep example per new language: 6 more of each at the least
    rule = next(r for r in pack.rules if r.name == rule_name)
    assert len(rule.examples_match) >= 7 and len(rule.examples_keep) >= 7


@pytest.mark.parametrize("lang", LANGS)
def test_no_line_rule_fires_inside_prose_that_holds_a_keyword(pack, lang):
    assert prose_fired(pack, PROSE[lang]) == {}


@pytest.mark.parametrize(("line", "first"), [("© 2024 Example Media GmbH", "copyright-line"),
                                             ("© Maison & Jardin Magazine 2024 – Tous droits réservés",
                                              "copyright-line"),
                                             ("Copyright 2021 – All rights reserved", "copyright-line"),
                                             ("© Getty Images", "photo-credit"),
                                             ("© dpa/Jan Woitas", "photo-credit")])
def test_a_copyright_line_is_audited_as_one_and_a_photo_credit_as_one(line_rules, line, first):
    """The audit names the first rule that hits a line: the credit and keyword rules that
    match any "©" come after copyright-line."""
    assert next(rule.name for rule in line_rules if rule_hits_text(rule, line)) == first


# Documentation and writing about the web: "JavaScript" and "browser" in sentences of the
# page's own text, which the keyword tiers removed before browser-notice took those words.
WEB_PROSE = [
    "A custom Hook is a JavaScript function whose name starts with use and that may call other Hooks.",
    "The Fetch API provides a JavaScript interface for making HTTP requests and processing the responses.",
    "This feature is well established and works across many devices and browser versions.",
    "See all the network requests your browser makes, how long each request takes and details of each request.",
    "State-of-the-art ML running directly in your browser",
    "Rhino is an open source JavaScript engine managed by the Mozilla Foundation.",
    "Step through JavaScript code and examine or modify its state to help track down bugs.",
    "Der Browser speichert die Seite im Cache, bis der Nutzer sie neu lädt.",
    "Mit JavaScript lassen sich Formulare prüfen, bevor sie abgeschickt werden.",
]


def test_javascript_and_browser_in_prose_about_the_web_fire_no_line_rule(pack):
    assert prose_fired(pack, WEB_PROSE) == {}


@pytest.mark.parametrize("line", [
    "You must have javascript enabled to submit the form.",
    "Your browser does not support the video tag.",
    "Captcha failed to load. Try using a different browser or disabling ad blockers.",
    "Sie verwenden eine veraltete Browser-Version. Dies kann zu Einschränkungen in der Darstellung führen.",
    "現在JavaScriptが無効になっています。",
])
def test_a_notice_about_javascript_or_the_browser_is_audited_as_one(line_rules, line):
    assert next(rule.name for rule in line_rules if rule_hits_text(rule, line)) == "browser-notice"
